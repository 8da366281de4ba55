#!/usr/bin/env node
// The `hearth` command: runs the TypeScript CLI through tsx, then closes the GPU device before exiting
// (exiting with a Dawn device open can crash Node).
import '../scripts/node_register.mjs';

const { main } = await import('../src/cli/main.ts');
const { closeGpu } = await import('../src/core/gpu/device.ts');
const code = await main(process.argv.slice(2));
await closeGpu();
process.exit(code);
