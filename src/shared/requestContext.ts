/**
 * What is known about the request being served, wherever the code is when it needs it (the audit
 * log, deep in the session layer): its id and the client's IP as TRUST_PROXY resolves it. Set once
 * per request by app.ts; outside a request (background work) there is none.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestInfo {
  reqId: string;
  ip?: string;
}

export const requestInfo = new AsyncLocalStorage<RequestInfo>();
