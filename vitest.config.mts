import { defineConfig } from 'vitest/config';

// Each kind of test is a project, so each can be run alone: `vitest run --project unit`.
// Tests never reach beyond loopback: dummy credentials and a region are set for every project, and every
// endpoint a test uses is a server it started itself on 127.0.0.1.
const env = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_EC2_METADATA_DISABLED: 'true',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

export default defineConfig({
  test: {
    // A skipped or focused test must never pass silently in CI.
    allowOnly: false,
    passWithNoTests: false,
    // In CI a JSON report is written too, so .ci/run can print one closing count and refuse any skipped test.
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results/vitest.json' }]] : ['default'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'client/test/**/*.test.ts'],
          env,
        },
      },
      {
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          env,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      // The integration suite runs twice: against dynalite (in-process, what `npm start` uses) and against
      // DynamoDB Local, the official emulator, which validates like DynamoDB where dynalite is lenient.
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          env: { ...env, SWITCHBOARD_TEST_DYNAMODB: 'dynalite' },
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration-ddblocal',
          include: ['test/integration/**/*.test.ts'],
          env: { ...env, SWITCHBOARD_TEST_DYNAMODB: 'dynamodb-local' },
          globalSetup: ['test/integration/support/dynamodb-local.ts'],
          testTimeout: 30_000,
          hookTimeout: 90_000,
        },
      },
      {
        test: {
          name: 'bench-smoke',
          include: ['test/bench/**/*.test.ts'],
          env,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          env,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
