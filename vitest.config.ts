import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One s3rver and one offline js-ipfs node for the whole run (see test/setup/global-servers.ts).
    globalSetup: ['test/setup/global-servers.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
  },
});
