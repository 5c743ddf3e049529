import { availableParallelism } from 'node:os';

/** Jest runs the TypeScript sources as native ES modules (openid-client and oidc-provider are ESM-only). */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: false }] },
  testMatch: ['<rootDir>/test/**/*.test.ts', '<rootDir>/packages/*/test/**/*.test.ts'],
  setupFiles: ['<rootDir>/test/setup/quiet.ts'],
  // The contract guard: every answer under /v1 and /api, and every webhook received, is checked against api/openapi.yaml.
  setupFilesAfterEnv: ['<rootDir>/test/setup/contract.ts'],
  testTimeout: 30000,
  // One and a half workers per core (Jest's default leaves one core idle): most files spend much of
  // their time waiting on sockets, child processes, timers and Chromium, and with two workers on two
  // cores the CPUs were idle 40 % of the run. Three workers there: 443 s → 349 s, the same 1,988 tests.
  maxWorkers: Math.max(2, Math.round(availableParallelism() * 1.5)),
};
