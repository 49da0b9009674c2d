/** Tests run TypeScript through ts-jest in transpile-only mode; `npm test` type-checks once with tsc first. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { diagnostics: false }],
    // hyparquet, hyparquet-writer, @hpcc-js/wasm-zstd and jose ship only ES modules, which jest's CommonJS runtime cannot load as they are.
    '/node_modules/(hyparquet(-writer)?|@hpcc-js/wasm-zstd|jose)/.+\\.js$': ['ts-jest', { diagnostics: false, tsconfig: { allowJs: true } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(hyparquet(-writer)?|@hpcc-js/wasm-zstd|jose)/)'],
  testTimeout: 60000,
  // Checks skipped for want of an external tool (chromium, cfn-lint, curl, Python) are named in one line after the summary.
  globalSetup: '<rootDir>/test/support/skipped-tools-setup.js',
  globalTeardown: '<rootDir>/test/support/skipped-tools-teardown.js',
  // Synth and end-to-end suites each start servers or esbuild; two workers match the two cores.
  maxWorkers: 2,
};
