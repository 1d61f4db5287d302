/**
 * Every test file runs against Express 5 (the installed `express`) and again against
 * Express 4 (the `express4` alias), except files named `*.once.test.ts` (packaging,
 * browser, benchmarks), which do not depend on the Express major.
 *
 * The fault-under-load test holds every answer to a time budget, so it runs on its own,
 * after the rest, with no other test file competing for the machine: `npm test` runs
 * `jest` (everything else) and then `EWA_ALONE=1 jest` (that file alone).
 */
const ALONE = '/faults-under-load\\.once\\.test\\.ts$';
const alone = process.env.EWA_ALONE === '1';

const base = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: alone ? ['/node_modules/'] : ['/node_modules/', ALONE],
  ...(alone ? { testRegex: ALONE, testMatch: undefined } : {}),
  // every answer, log event and console line of every file searched for every configured secret
  setupFilesAfterEnv: ['<rootDir>/__tests__/setup/leak-watch.ts'],
};

module.exports = {
  // real servers on loopback, two cores shared by two workers: a deadline, not a speed claim
  testTimeout: 20_000,
  projects: [
    { ...base, displayName: 'express5' },
    ...(alone
      ? []
      : [
          {
            ...base,
            displayName: 'express4',
            moduleNameMapper: { '^express$': 'express4' },
            testPathIgnorePatterns: ['/node_modules/', '\\.once\\.test\\.ts$'],
          },
        ]),
  ],
};
