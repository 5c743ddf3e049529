/** The keeper's caller class at the XT.COM guard: at most KEEPALIVE_SHARE of the deployment budget, the rest untouched. */
import { AppError } from '../../src/errors.js';
import { SlidingXtGuard, keeperBudgetOf } from '../../src/services/xtGuard.js';

test("the 'keeper' caller takes at most its share of XT_API_IP_LIMIT; people and the service still find room", async () => {
  expect(keeperBudgetOf(1000)).toBe(100);
  expect(keeperBudgetOf(1000, 0.05)).toBe(50);
  expect(keeperBudgetOf(3, 0.1)).toBe(1);
  const guard = new SlidingXtGuard({ ipLimitPerMinute: 100, queueWaitMs: 0, keeperShare: 0.1 });
  for (let i = 0; i < 10; i++) await guard.take(`u${i}`, 'other', 'keeper');
  const refused = await guard.take('u10', 'other', 'keeper').catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(AppError);
  expect((refused as AppError).code).toBe('rate_limited');
  await expect(guard.take('p1', 'other', 'person')).resolves.toBeUndefined();
  await expect(guard.take('s1', 'other', 'service')).resolves.toBeUndefined();
});

test("the keeper's calls count against the deployment budget too", async () => {
  const guard = new SlidingXtGuard({ ipLimitPerMinute: 20, queueWaitMs: 0, keeperShare: 1, serviceShare: 0.1 });
  for (let i = 0; i < 20; i++) await guard.take(`u${i}`, 'other', 'keeper');
  await expect(guard.take('s1', 'other', 'service')).rejects.toMatchObject({ code: 'rate_limited' });
});
