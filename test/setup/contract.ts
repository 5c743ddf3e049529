/**
 * Runs before every test file (jest.config.js, setupFilesAfterEnv). In the integration tests, the
 * contract guard (helpers/contractGuard.ts) records every answer the file's apps give under /v1
 * and /api and every webhook the test receiver accepts, and the test during which one departed
 * from api/openapi.yaml fails here, naming the request and each departure. An answer given in a beforeAll fails the next
 * test; one given in a describe's afterAll fails the file. A file's top-level afterAll runs after
 * this one (Jest runs hooks of one level in the order they were declared, and this file declares
 * first): it closes apps and receivers and is not meant to call them.
 */
import path from 'node:path';
import { installContractGuard, takeViolations } from '../helpers/contractGuard.js';

// The integration tests run the real app. Unit tests build small apps of their own on purpose (the
// error handler behind made-up routes such as /v1/fail/{code}), which the contract does not describe.
const testPath = expect.getState().testPath ?? '';
if (testPath.includes(`${path.sep}test${path.sep}integration${path.sep}`)) installContractGuard();

async function assertNone(): Promise<void> {
  const violations = await takeViolations();
  if (violations.length) throw new Error(`the contract guard found:\n  ${violations.join('\n  ')}`);
}

afterEach(assertNone);
afterAll(assertNone);
