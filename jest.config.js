/**
 * Every test file runs against Express 5 (the installed `express`) and again against
 * Express 4 (the `express4` alias), except files named `*.once.test.ts` (packaging,
 * browser, benchmarks), which do not depend on the Express major.
 */
const base = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testMatch: ['**/*.test.ts'],
  // every answer, log event and console line of every file searched for every configured secret
  setupFilesAfterEnv: ['<rootDir>/__tests__/setup/leak-watch.ts'],
};

module.exports = {
  projects: [
    { ...base, displayName: 'express5' },
    {
      ...base,
      displayName: 'express4',
      moduleNameMapper: { '^express$': 'express4' },
      testPathIgnorePatterns: ['/node_modules/', '\\.once\\.test\\.ts$'],
    },
  ],
};
