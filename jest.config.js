/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  // Chromium and zstd come from Debian, not npm: found, installed, or asked for in one line.
  globalSetup: '<rootDir>/test/setup/prerequisites.ts',
  testTimeout: 30000,
};
