/**
 * The XT.COM stand-in's token endpoint, GET /public/uaa/oauth2/token: code exchange and refresh,
 * the client secret in the query, answers in the {rc, mc, ma, result} envelope. The tests' hooks
 * act here: delays, injected failures, and answers replaced or changed.
 */
import type { Request, Response } from 'express';
import { envelope } from './envelope.js';
import type { XtState } from './state.js';
import { issueTokens } from './tokens.js';

type Query = Record<string, string | undefined>;

export function tokenEndpoint(state: XtState) {
  return async (req: Request, res: Response): Promise<void> => {
    const { options } = state;
    const q = req.query as Query;
    const grant = q.grant_type ?? '';
    if (grant === 'authorization_code' || grant === 'refresh_token') state.calls[grant]++;
    if (options.tokenDelayMs > 0) await new Promise((r) => setTimeout(r, options.tokenDelayMs));
    if (injectFailure(state, grant, res)) return;

    if (q.client_id !== options.clientId) {
      res.json(envelope(1, 'AUTH_101'));
      return;
    }
    if (q.client_secret !== options.clientSecret) {
      res.json(envelope(1, 'AUTH_103'));
      return;
    }
    const result = await grantResult(state, grant, q);
    if (!result) {
      res.json(envelope(1, 'FAILURE'));
      return;
    }
    if (options.answerDelayMs > 0) await state.sleep(options.answerDelayMs);
    sendResult(state, res, result);
  };
}

/** The next injected failure for this grant, if any; true when it answered (or will, for `timeout`). */
function injectFailure(state: XtState, grant: string, res: Response): boolean {
  const fi = state.failures.findIndex((f) => !f.grant || f.grant === grant);
  if (fi < 0) return false;
  const [f] = state.failures.splice(fi, 1);
  switch (f!.kind) {
    case 'reject':
      res.json(envelope(1, 'FAILURE'));
      break;
    case 'timeout': {
      const t = setTimeout(() => {
        state.hanging.delete(t);
        if (!res.headersSent) res.status(504).send('<html>timeout</html>');
      }, state.options.hangMs);
      state.hanging.add(t);
      break;
    }
    case 'http500':
      res.status(500).json(envelope(1, 'FAILURE'));
      break;
    case 'html502':
      res.status(502).type('html').send('<html><body><h1>502 Bad Gateway</h1></body></html>');
      break;
    case 'rate429':
      res.status(429).type('text').send('Too Many Requests');
      break;
    case 'truncated':
      res.type('json').send('{"rc":0,"mc":"SUCCESS","ma":[],"result":{"access_tok');
      break;
  }
  return true;
}

/** The new tokens for a valid code (used up even when it fails) or refresh token; undefined when it is not one. */
async function grantResult(state: XtState, grant: string, q: Query): Promise<Record<string, unknown> | undefined> {
  if (grant === 'authorization_code') {
    const g = q.code ? state.codes.get(q.code) : undefined;
    if (q.code) state.codes.delete(q.code); // single use, even when it fails
    if (!g || g.expiresAt < state.now()) return undefined;
    return issueTokens(state, g.userId, g.scope, true);
  }
  if (grant === 'refresh_token') {
    if (q.refresh_token) state.refreshTokensPresented.push(q.refresh_token);
    const r = q.refresh_token ? state.refreshTokens.get(q.refresh_token) : undefined;
    if (!r || r.expiresAt < state.now()) return undefined;
    return issueTokens(state, r.userId, r.scope, false, q.refresh_token);
  }
  return undefined;
}

/** The successful answer: a raw response or an override the tests queued, else `result` in the envelope. */
function sendResult(state: XtState, res: Response, result: Record<string, unknown>): void {
  const raw = state.rawResponses.shift();
  if (raw) {
    res
      .status(raw.status ?? 200)
      .type(raw.contentType ?? 'application/json')
      .send(raw.body);
    return;
  }
  const o = state.overrides.shift();
  if (o?.raw) {
    const body = typeof o.patch === 'function' ? o.patch(result) : o.patch;
    if (typeof body === 'string') res.type('json').send(body);
    else res.json(body);
    return;
  }
  if (o)
    result = typeof o.patch === 'function' ? (o.patch(result) as Record<string, unknown>) : { ...result, ...o.patch };
  res.json(envelope(0, 'SUCCESS', result));
}
