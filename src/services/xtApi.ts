/**
 * The server-side client for XT.COM's user APIs. It sends the person's token the way XT.COM
 * documents (`access-token: <token>`, not `Authorization: Bearer`), refreshes first when the
 * token is stale, and on a 401 refreshes once and retries once. Callers get the `result`
 * of the envelope, never a token.
 */
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { ProviderHttp, RawResponse } from '../providers/http.js';
import { readXtEnvelope } from '../providers/xtEnvelope.js';
import type { Connections } from '../session/connections.js';

export class XtApi {
  constructor(
    private readonly apiUrl: string,
    private readonly http: ProviderHttp,
    private readonly connections: Connections,
    private readonly provider = 'xt',
  ) {}

  private call(path: string, token: string): Promise<RawResponse> {
    if (!/^\/[A-Za-z0-9/_.-]*(\?[A-Za-z0-9=&_.,-]*)?$/.test(path)) throw new AppError('bad_request', { provider: this.provider, detail: { reason: 'invalid XT.COM API path' } });
    return this.http.request({ method: 'GET', url: this.apiUrl + path, headers: { 'access-token': token } });
  }

  async get(owner: string, path: string): Promise<unknown> {
    const token = await this.connections.accessToken(owner, this.provider);
    let res = await this.call(path, token);
    if (res.status === 401) {
      const rec = await this.connections.refreshAfterRejection(owner, this.provider, token);
      if (!rec || rec.status !== 'active' || !rec.accessToken || rec.accessToken === token) {
        throw new AppError('reconnect_required', { provider: this.provider, detail: { reason: 'api rejected the token' } });
      }
      res = await this.call(path, rec.accessToken);
      if (res.status === 401) {
        throw new AppError('reconnect_required', { provider: this.provider, detail: { reason: 'api rejected the refreshed token' } });
      }
    }
    return this.unwrap(res, path);
  }

  private unwrap(res: RawResponse, path: string): unknown {
    const detail = { httpStatus: res.status, path: path.split('?')[0] };
    if (res.status === 429 || res.status >= 500) throw new AppError('provider_unavailable', { provider: this.provider, detail });
    const env = readXtEnvelope(res, this.provider, detail);
    if (env.rc !== 0 || res.status >= 400) throw new AppError('provider_rejected', { provider: this.provider, detail: { ...detail, rc: env.rc, mc: env.mc } });
    return env.result;
  }
}

const balanceSchema = z.object({
  assets: z
    .array(
      z.object({
        currency: z.string().max(32),
        availableAmount: z.union([z.string().max(64), z.number()]).optional(),
        frozenAmount: z.union([z.string().max(64), z.number()]).optional(),
      }),
    )
    .max(1000)
    .default([]),
});

export interface Balance {
  currency: string;
  available: string;
  frozen: string;
}

export async function spotBalances(api: XtApi, owner: string): Promise<Balance[]> {
  const parsed = balanceSchema.safeParse(await api.get(owner, '/spot/v4/balances'));
  if (!parsed.success) throw new AppError('provider_bad_response', { provider: 'xt', detail: { reason: 'unexpected balances shape' } });
  return parsed.data.assets.map((a) => ({
    currency: a.currency.toUpperCase(),
    available: String(a.availableAmount ?? '0'),
    frozen: String(a.frozenAmount ?? '0'),
  }));
}
