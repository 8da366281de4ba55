import { defineConfig } from 'vitest/config';

// Tests run real WebGPU (Dawn on SwiftShader when there is no GPU). SwiftShader already uses every
// core, so test files run one at a time; timeouts are generous because the CPU is the GPU here. The files share
// one process (isolate: false): tfjs, Dawn's device and the compiled kernels are set up once, not once per file,
// which saves about a third of the suite's CPU time. Per-file hooks live in tests/setup.ts; the global set-up
// bundles the scripts that tests run as child processes.
export default defineConfig({
  test: {
    include: [
      'tests/unit/**/*.test.ts',
      'tests/kernels/**/*.test.ts',
      'tests/model/**/*.test.ts',
      'tests/kit/**/*.test.ts',
    ],
    setupFiles: ['tests/setup.ts'],
    globalSetup: ['tests/global_setup.ts'],
    pool: 'forks',
    isolate: false,
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
