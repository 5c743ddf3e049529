/**
 * Seeding for the keeper and webhook-throughput benchmarks: N subjects' XT.COM connections stored
 * through the app's own Connections.connect (sealed record, expiry index, back-channel logout
 * index, and the `connection.created` event when webhooks are on), as linked logins would leave
 * them. The first `due` have a refresh token expiring in 10 days (inside KEEPALIVE_WINDOW's 14,
 * outside EXPIRY_WARNING's 7); the rest in 30 to 180 days. Seeding is not measured.
 *
 * Tokens are JWT-sized (about 600 characters, as XT.COM's are) so that memory per connection is
 * realistic. The due ones' refresh tokens are derived from `tag` and the index, so the stand-in
 * (./xt.ts) can accept exactly those; they are never printed.
 */
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { buildContext } from '../../src/context.js';
import type { Config } from '../../src/config/index.js';
import { BACKFILL_MARK } from '../../src/session/connections/keeperBackfill.js';

const DAY = 86_400_000;
const TOKEN_CHARS = 600;
/** Connections stored at once (Redis answers them concurrently; SQLite runs them one by one anyway). */
const CONCURRENCY = 64;

/** The refresh token of due connection `i` of a run tagged `tag` (the stand-in knows these). */
export const dueRefreshToken = (tag: string, i: number): string => {
  const head = `bench.rt.${tag}.${i}.`;
  return head + 'r'.repeat(TOKEN_CHARS - head.length);
};

/** The XT.COM user id of subject `i` (each its own, so XT.COM's per-user limits never bind). */
export const userIdOf = (i: number): string => String(50_000_000 + i);

const filler = () => randomBytes((TOKEN_CHARS * 3) / 4).toString('base64url');

/**
 * Stores `total` connections, the first `due` of them due, with the app's context built from
 * `config` (its store, sealer and subject keys); marks the keeper's one-time backfill as done,
 * as a deployment that has run the keeper before has it. Returns the seeding time in ms.
 */
export async function seedConnections(config: Config, total: number, due: number, tag: string): Promise<number> {
  const started = performance.now();
  const ctx = await buildContext(config, { logger: pino({ level: 'silent' }) });
  try {
    const now = Date.now();
    let next = 0;
    const one = async (i: number) => {
      const isDue = i < due;
      const days = isDue ? 10 : 30 + (i % 150);
      const subject = `bench-subject-${i}`;
      await ctx.connections.connect(
        ctx.subjects.ownerOf(subject),
        'xt',
        {
          accessToken: filler(),
          accessExpiresAt: now + 3_600_000,
          refreshToken: isDue ? dueRefreshToken(tag, i) : filler(),
          refreshExpiresAt: now + days * DAY + (i % 1000) * 1000,
          scope: 'userinfo',
          userId: userIdOf(i),
        },
        subject,
      );
    };
    const worker = async () => {
      for (let i = next++; i < total; i = next++) await one(i);
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await ctx.stores.authState.markOnce(BACKFILL_MARK, 10 * 365 * DAY);
  } finally {
    await ctx.stores.close();
  }
  return Math.round(performance.now() - started);
}
