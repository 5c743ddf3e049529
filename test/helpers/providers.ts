/** A stand-in Provider for tests that need one the real dialects cannot play (a bug, a hand-answered refresh). */
import { AppError } from '../../src/errors.js';
import type { Provider } from '../../src/providers/types.js';

/** Every method answers something harmless unless the test overrides it. */
export function stubProvider(overrides: Partial<Provider> & { id: string }): Provider {
  return {
    label: overrides.id,
    checkAvailability: () => true,
    prepareLogin: async () => ({}),
    authorizeUrl: async () => new URL('http://127.0.0.1/authorize'),
    exchangeCode: async () => ({ accessToken: 'x' }),
    refresh: async () => {
      throw new AppError('provider_rejected');
    },
    ...overrides,
  };
}
