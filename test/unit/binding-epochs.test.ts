/**
 * The subject binding epochs (session/bindings.ts), as several replicas with clocks that disagree
 * would use them on one shared store: a binding counts exactly while no end of its subject came
 * after it, whatever the order of binds and ends and whatever each replica's clock says.
 */
import fc from 'fast-check';
import { BindingEpochs } from '../../src/session/bindings.js';
import { MemoryAuthStore } from '../../src/store/memory/index.js';

const DAY = 86_400_000;

type Step = { op: 'bind'; replica: number } | { op: 'end'; replica: number } | { op: 'tick'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('bind' as const), replica: fc.nat(2) }),
  fc.record({ op: fc.constant('end' as const), replica: fc.nat(2) }),
  fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 5000 }) }),
);

test('a binding is current exactly while its subject has not been ended since, across replicas whose clocks differ', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: -60_000, max: 60_000 }), { minLength: 3, maxLength: 3 }),
      fc.array(step, { maxLength: 40 }),
      async (skews, steps) => {
        let t = 1_800_000_000_000;
        const store = new MemoryAuthStore(() => t);
        const replicas = skews.map((skew) => new BindingEpochs(store, 30 * DAY, () => t + skew));
        const key = 'sub.subject-key';
        const bindings: { epoch: string; ended: boolean }[] = [];
        for (const s of steps) {
          if (s.op === 'tick') t += s.ms;
          else if (s.op === 'bind')
            bindings.push({ epoch: await replicas[s.replica]!.forNewBinding(key), ended: false });
          else {
            await replicas[s.replica]!.end(key);
            for (const b of bindings) b.ended = true;
          }
          const current = await replicas[0]!.current(key);
          for (const b of bindings) expect(b.epoch === current).toBe(!b.ended);
        }
      },
    ),
    { numRuns: 200 },
  );
});

test('the epochs are kept under the opaque subject key only, and expire when no binding can outlive them', async () => {
  let t = 1_800_000_000_000;
  const store = new MemoryAuthStore(() => t);
  const epochs = new BindingEpochs(store, 30 * DAY, () => t);
  await epochs.end('sub.k');
  const bound = await epochs.forNewBinding('sub.k');
  expect(bound).not.toBe('');
  expect(await store.readIndex('subject-epoch:sub.k')).toEqual([bound]);
  t += 30 * DAY - 1;
  expect(await epochs.current('sub.k')).toBe(bound);
  t += 2;
  expect(await epochs.current('sub.k')).toBe(''); // every session bound under it is past SESSION_MAX_AGE by now
});
