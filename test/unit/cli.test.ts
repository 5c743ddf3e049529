/**
 * The operator CLI's pure parts: what `subject export` shows of a record (tokens and unknown fields
 * redacted), how an error message is cleaned of the environment's secrets, and the table layout.
 */
import { table } from '../../src/cli/command.js';
import { scrub } from '../../src/cli/runtime.js';
import { REDACTED, redactRecord } from '../../src/cli/subject.js';
import type { ConnectionRecord } from '../../src/session/connections/index.js';

test('a record is shown with its tokens, provider session id and any unknown field redacted, its times as RFC 3339', () => {
  const rec = {
    v: 1,
    provider: 'xt',
    status: 'active',
    version: 3,
    subject: 'person-1',
    userId: '12345678',
    accessToken: 'at-secret',
    refreshToken: 'rt-secret',
    idToken: 'id-secret',
    sid: 'provider-session',
    accessExpiresAt: Date.UTC(2026, 0, 2),
    connectedAt: Date.UTC(2026, 0, 1),
    refreshFailures: 0,
    futureSecret: 'f-secret',
  } as ConnectionRecord;
  const shown = redactRecord(rec);
  expect(shown).toEqual({
    v: 1,
    provider: 'xt',
    status: 'active',
    version: 3,
    subject: 'person-1',
    userId: '12345678',
    accessToken: REDACTED,
    refreshToken: REDACTED,
    idToken: REDACTED,
    sid: REDACTED,
    accessExpiresAt: '2026-01-02T00:00:00.000Z',
    connectedAt: '2026-01-01T00:00:00.000Z',
    refreshFailures: 0,
    futureSecret: REDACTED,
  });
  expect(JSON.stringify(shown)).not.toMatch(/-secret|provider-session/);
});

test("an error message is cleaned of every secret-named variable's value and its list parts", () => {
  const env = {
    SESSION_SECRET: 'new-session-secret-0123456789abcdef,old-session-secret-0123456789',
    REDIS_URL: 'redis://:hunter2hunter2@db:6379',
    SERVICE_API_KEYS: 'backend:service-key-0123456789abcdef',
    PUBLIC_URL_NOT: 'short',
    HOST: '127.0.0.1',
  };
  const msg =
    'failed with old-session-secret-0123456789 at redis://:hunter2hunter2@db:6379 key service-key-0123456789abcdef on 127.0.0.1 (auth hunter2hunter2)';
  expect(scrub(msg, env)).toBe('failed with [redacted] at [redacted] key [redacted] on 127.0.0.1 (auth [redacted])');
});

test('a table pads every column but the last', () => {
  expect(
    table([
      ['A', 'BB', 'C'],
      ['aaa', 'b', 'c'],
    ]),
  ).toEqual(['A    BB  C', 'aaa  b   c']);
});
