/**
 * `node dist/server.js` (the image's command) reads the environment only. A newcomer with a `.env`
 * in the working folder who runs it directly would otherwise have that file ignored without a word:
 * this finds a `.env` whose settings are not in the environment, so the start can say how to load it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';

/** How to start with a `.env` loaded: said wherever a `.env` was found but not loaded. */
export const ENV_FILE_HINT = 'npm start loads it, or run node --env-file=.env dist/server.js';

/**
 * The `.env` in `dir` when one exists and at least one of its settings is missing from `env`
 * (so it was not loaded); undefined otherwise, or when it cannot be read. Names only, never values.
 */
export function unloadedEnvFile(env: NodeJS.ProcessEnv, dir = process.cwd()): string | undefined {
  const file = path.join(dir, '.env');
  let names: string[];
  try {
    names = Object.keys(parseEnv(fs.readFileSync(file, 'utf8')));
  } catch {
    return undefined;
  }
  return names.some((name) => env[name] === undefined) ? file : undefined;
}
