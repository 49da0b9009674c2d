/** Tests run TypeScript through ts-jest in transpile-only mode; `npm test` type-checks once with tsc first. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': ['ts-jest', { diagnostics: false }] },
  testTimeout: 60000,
  // Synth and end-to-end suites each start servers or esbuild; two workers match the two cores.
  maxWorkers: 2,
};
