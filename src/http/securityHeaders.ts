/**
 * The security headers of every response, by the kind of answer, each set decided once by helmet
 * at start. A document (HTML, and anything that is not JSON: a redirect, a stylesheet, an image, an
 * empty answer) gets helmet's full set for the app's options: CSP, frame, referrer, nosniff, HSTS
 * behind https, and the rest. A JSON answer is never rendered as a page, so the document-only
 * headers would only cost bytes: it gets helmet's own set for an API (`jsonHelmetOptions`):
 * nosniff, HSTS behind https, a CSP that allows nothing (should a browser ever render it anyway),
 * and Cross-Origin-Resource-Policy. `Cache-Control: no-store` and `Vary: Cookie` come with every
 * personal answer (app.ts).
 *
 * The set is chosen as the headers are written, from the answer's own Content-Type, so an answer
 * cannot end up with the wrong one whatever route, error or fallback produced it. A header a route
 * set itself (the callback's stricter Referrer-Policy, say) is kept.
 */
import type { ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import helmet, { type HelmetOptions } from 'helmet';
import onHeaders from 'on-headers';

/** The headers helmet sets for `options`, read by running it once against a recording response. */
export function helmetHeaders(options: HelmetOptions): [string, string][] {
  // A directive given as a function is computed by helmet per request (a nonce, say): it cannot be frozen.
  const csp = options.contentSecurityPolicy;
  const directives = typeof csp === 'object' ? Object.values(csp.directives ?? {}) : [];
  if (directives.some((v) => typeof v === 'function' || (Array.isArray(v) && v.some((x) => typeof x === 'function')))) {
    throw new Error(
      'a CSP directive computed per request cannot be precomputed; the security headers need static options',
    );
  }
  const headers = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: unknown) => void headers.set(name, String(value)),
    removeHeader: (name: string) => void headers.delete(name),
    getHeader: (name: string) => headers.get(name),
  };
  let done = false;
  helmet(options)({ method: 'GET', url: '/', headers: {} } as never, recorder as never, (err?: unknown) => {
    if (err) throw err instanceof Error ? err : new Error('helmet failed');
    done = true;
  });
  // Every option is static: helmet calls next synchronously. A dynamic one (a nonce, say) would not.
  if (!done) throw new Error('helmet did not finish synchronously; the security headers cannot be precomputed');
  return [...headers];
}

/**
 * Helmet's options for a JSON answer: the document-only headers off, a CSP that allows nothing,
 * and HSTS as the document's options have it (on behind https).
 */
export function jsonHelmetOptions(document: HelmetOptions): HelmetOptions {
  return {
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    crossOriginOpenerPolicy: false,
    originAgentCluster: false,
    referrerPolicy: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xFrameOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
    strictTransportSecurity: document.strictTransportSecurity,
  };
}

/**
 * Whether a Content-Type is JSON: one media type, `application/json` or `application/<x>+json`,
 * with or without parameters. A value with a comma is never JSON here: a browser reads the last of
 * several types (`application/json, text/html` renders as a page).
 */
export function isJsonType(type: unknown): boolean {
  return typeof type === 'string' && !type.includes(',') && /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i.test(type);
}

/** The security headers, by the kind of answer (see above), for the app's document options. */
export function securityHeaders(options: HelmetOptions): RequestHandler {
  const document = helmetHeaders(options);
  const json = helmetHeaders(jsonHelmetOptions(options));
  function setByKind(this: ServerResponse): void {
    for (const [name, value] of isJsonType(this.getHeader('content-type')) ? json : document) {
      if (!this.hasHeader(name)) this.setHeader(name, value);
    }
  }
  return function setSecurityHeaders(_req, res, next) {
    onHeaders(res, setByKind);
    next();
  };
}
