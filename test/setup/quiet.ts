/**
 * Runs before every test file (jest.config.js, setupFiles). oidc-provider warns on import that
 * Node 20 is not the LTS it prefers; the stand-in built on it runs fine here, and the line (with
 * its stack location) is noise in the suite's output. It also warns, under Jest's module sandbox,
 * that it cannot set up its SSRF guard for outgoing calls (back-channel logouts): the stand-in
 * replaces that fetch anyway, to reach the app on 127.0.0.1. Exactly those warnings are dropped;
 * every other console call goes through as before.
 */
const DROPPED = [
  'oidc-provider WARNING: Unsupported runtime',
  'oidc-provider WARNING: failed to setup SSRF protection',
];

const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && DROPPED.some((d) => (args[0] as string).startsWith(d))) return;
  warn(...args);
};

export {};
