/**
 * The scope check of the service API: each /v1 route names the scope it needs (SERVICE_API_KEYS
 * entries `name:key:scope+scope…`), and a key without it is refused with 403 `scope_missing`
 * before the route does anything else (after the bearer check and the key's rate limit). The refusal's audit line (`scope_refused`) names the key
 * and the missing scope, never the key itself.
 */
import type { NextFunction, Request, Response } from 'express';
import type { ServiceScope } from '../config/integration.js';
import { AppError } from '../errors.js';
import { isNeverAllowed } from './xt/allowList.js';

export interface ServiceLocals {
  /** The name of the key the caller presented (logged with every call; the key never is). */
  serviceKey?: string;
  /** What that key may call (set with `serviceKey` by the bearer check). */
  serviceScopes?: ReadonlySet<ServiceScope>;
  subject?: string;
  /** Where the subject's records are, when SUBJECT_KEYS rotates (session/subjectMoves.ts); unset: its ownerOf(). */
  owner?: string;
}

export const serviceLocals = (res: Response) => res.locals as ServiceLocals;

/** Whether the key that authenticated this call holds `scope` (no key: no scope). */
export const hasScope = (res: Response, scope: ServiceScope): boolean =>
  serviceLocals(res).serviceScopes?.has(scope) === true;

/** A step that lets the call on only when its key holds `scope`; put it right after the bearer check. */
export function requireScope(scope: ServiceScope) {
  return function scopeCheck(_req: Request, res: Response, next: NextFunction): void {
    if (hasScope(res, scope)) return next();
    next(new AppError('scope_missing', { detail: { scope } }));
  };
}

/**
 * The scope a call through /v1/subjects/{sub}/xt needs: `xt.read` for GET, `xt.write` for POST and
 * DELETE, and `api-key` (alone, not also `xt.write`) for POST to the api-key path, recognised as the
 * gateway's allow-list does (any letter case, anything that starts like it), on the raw path the
 * gateway will check and send unchanged. Other methods need none: the gateway refuses them (405).
 */
export function xtScopeOf(method: string, rawTarget: string | undefined): ServiceScope | undefined {
  if (method === 'GET') return 'xt.read';
  if (method === 'POST' && isNeverAllowed((rawTarget ?? '').split('?')[0]!)) return 'api-key';
  if (method === 'POST' || method === 'DELETE') return 'xt.write';
  return undefined;
}

/** requireScope for the XT.COM calls: the scope depends on the method and the target (xtScopeOf). */
export function requireXtScope(targetOf: (req: Request) => string | undefined) {
  return function xtScopeCheck(req: Request, res: Response, next: NextFunction): void {
    const scope = xtScopeOf(req.method, targetOf(req));
    if (scope === undefined || hasScope(res, scope)) return next();
    next(new AppError('scope_missing', { detail: { scope } }));
  };
}
