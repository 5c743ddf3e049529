/**
 * The stand-in's `POST /user/account/api-key`: a new API key for the person, answered with its
 * secret. XT.COM's documents name `accessKey` and `secretKey` in `result` and show no sample, so
 * where the secret sits is open; `apiKeyAnswerShape` picks one reading (tests of the app's sealing
 * go through each): `result` (the documented one), `snake` (`secret_key`), `nested`
 * (`result.apiKey.secretKey`), `list` (`result` an array of keys), `beside` (`secretKey` next to
 * `result`), and shapes no one can seal: `copied` (the secret also under a name that does not say
 * so), `numeric`, `unnamed` (`result` one "access:secret" string), `bare` (no envelope: the app
 * passes on XT.COM's envelopes only, so it is refused before any sealing) and `text` (not JSON).
 * Every secret handed out is remembered (issued()), so tests can search logs and stores for it.
 */
import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { ok } from './envelope.js';
import { remember } from './userGate.js';

export const API_KEY_ANSWER_SHAPES = [
  'result',
  'snake',
  'nested',
  'list',
  'beside',
  'copied',
  'numeric',
  'unnamed',
  'bare',
  'text',
] as const;
export type ApiKeyAnswerShape = (typeof API_KEY_ANSWER_SHAPES)[number];

function answerFor(shape: ApiKeyAnswerShape, accessKey: string, secretKey: string): unknown {
  switch (shape) {
    case 'result':
      return ok({ accessKey, secretKey });
    case 'snake':
      return ok({ access_key: accessKey, secret_key: secretKey });
    case 'nested':
      return ok({ apiKey: { accessKey, secretKey, permissions: ['read'] } });
    case 'list':
      return ok([{ accessKey, secretKey }]);
    case 'beside':
      return { ...ok({ accessKey }), secretKey };
    case 'copied':
      return ok({ accessKey, secretKey, signingValue: secretKey });
    case 'numeric':
      return ok({ accessKey, secretKey: Number(secretKey) });
    case 'unnamed':
      return ok(`${accessKey}:${secretKey}`);
    case 'bare':
      return { accessKey, secretKey };
    case 'text':
      return undefined;
  }
}

/** The route's handler; `shape()` is read per request (tests change it while the stand-in runs). */
export function createApiKey(shape: () => ApiKeyAnswerShape, secrets: string[]) {
  return function apiKeyCreated(_req: Request, res: Response): void {
    const which = shape();
    // A numeric secret: digits only, within a double's exact integers, so it reads back unchanged.
    const secretKey =
      which === 'numeric' ? String(1e15 + randomBytes(6).readUIntBE(0, 6)) : randomBytes(24).toString('hex');
    const accessKey = randomBytes(16).toString('hex');
    remember(secrets, secretKey);
    const body = answerFor(which, accessKey, secretKey);
    if (body === undefined) res.type('text/plain').send(`accessKey=${accessKey}\nsecretKey=${secretKey}\n`);
    else res.json(body);
  };
}
