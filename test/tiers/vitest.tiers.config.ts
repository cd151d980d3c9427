// Runs only the storage-tier tests with the shared servers (one s3rver, one IPFS node):
//   npx vitest run --config test/tiers/vitest.tiers.config.ts
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/tiers/**/*.test.ts'],
    globalSetup: ['test/setup/global-servers.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
  },
});
