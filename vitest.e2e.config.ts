import { defineConfig } from 'vitest/config';

// End-to-end tests: the built page (dist/, from `vite build`) in Debian's Chromium, WebGPU on SwiftShader.
// One file at a time, since one Chromium already keeps every core busy; long timeouts, since the CPU is the GPU.
export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 180_000,
    reporters: ['default'],
  },
});
