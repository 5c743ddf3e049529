/**
 * Runs before every test file (jest.config.js, setupFiles). oidc-provider warns on import that
 * Node 20 is not the LTS it prefers; the stand-in built on it runs fine here, and the line (with
 * its stack location) is noise in the suite's output. Exactly that warning is dropped; every
 * other console call goes through as before.
 */
const UNSUPPORTED_RUNTIME = 'oidc-provider WARNING: Unsupported runtime';

const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && args[0].startsWith(UNSUPPORTED_RUNTIME)) return;
  warn(...args);
};

export {};
