import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/kafka.ts'],
    pool: 'forks',
    // one real broker per run; test files share it under their own topic prefixes, but run
    // one at a time: the machines have 2 cores and the fault tests are timing-sensitive
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 240_000,
    reporters: ['default']
  }
})
