import { defineConfig } from 'vitest/config';

// Tests run real WebGPU (Dawn on SwiftShader when there is no GPU). SwiftShader already uses every
// core, so test files run one at a time; timeouts are generous because the CPU is the GPU here.
export default defineConfig({
  test: {
    include: [
      'tests/unit/**/*.test.ts',
      'tests/kernels/**/*.test.ts',
      'tests/model/**/*.test.ts',
      'tests/kit/**/*.test.ts',
    ],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
