/**
 * Secrets from files (`<NAME>_FILE`), as Docker and Kubernetes mount them: the file's content, one
 * trailing newline trimmed, is the variable's value. Read once, before the schema sees the
 * environment, so every check and every loader works on the value alone. Setting both the variable
 * and its `_FILE` is a problem (which would win is a guess), and so is a file that cannot be read; a
 * problem names the variable and the path, never the content.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { Env } from './env.js';

/** The variables that may come from a file: every one that holds a secret. */
export const SECRET_FILE_VARIABLES = [
  'SESSION_SECRET',
  'SUBJECT_KEYS',
  'TOKEN_ENCRYPTION_KEYS',
  'LINK_SECRET',
  'WEBHOOK_SECRET',
  'SERVICE_API_KEYS',
  'XT_CLIENT_SECRET',
  'XT_API_SECRET',
  'OIDC_CLIENT_SECRET',
  'REDIS_PASSWORD',
  'REDIS_URL', // it may carry the password
] as const;

/** A secret file larger than this is not a secret but a mistake (a directory listing, a log). */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

/** `env` with each `<NAME>_FILE` read into `<NAME>`; the `_FILE` names themselves are dropped. */
export function withSecretFiles(env: Env, problems: string[]): Env {
  const out: Env = { ...env };
  for (const name of SECRET_FILE_VARIABLES) {
    const fileVar = `${name}_FILE`;
    const file = env[fileVar];
    delete out[fileVar];
    if (file === undefined || file.trim() === '') continue;
    if (env[name] !== undefined && env[name].trim() !== '') {
      problems.push(`${fileVar}: ${name} is set too; set one or the other`);
      continue;
    }
    const value = readSecretFile(fileVar, file, problems);
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** At most MAX_SECRET_FILE_BYTES + 1 bytes of `file` (never the whole of /dev/zero or a huge log). */
function readCapped(file: string): Buffer {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK); // a FIFO must not block the start
  try {
    if (!fstatSync(fd).isFile()) throw Object.assign(new Error('not a file'), { code: 'not a regular file' });
    const buf = Buffer.alloc(MAX_SECRET_FILE_BYTES + 1);
    let got = 0;
    for (let n = 1; n > 0 && got < buf.length; got += n) n = readSync(fd, buf, got, buf.length - got, null);
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

function readSecretFile(fileVar: string, file: string, problems: string[]): string | undefined {
  let raw: Buffer;
  try {
    raw = readCapped(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    problems.push(`${fileVar}: cannot read ${file} (${code})`);
    return undefined;
  }
  if (raw.length > MAX_SECRET_FILE_BYTES) {
    problems.push(`${fileVar}: ${file} is larger than 64 KiB; it should hold the secret only`);
    return undefined;
  }
  const value = raw.toString('utf8').replace(/\r?\n$/, '');
  if (value.trim() === '') {
    problems.push(`${fileVar}: ${file} is empty`);
    return undefined;
  }
  return value;
}
