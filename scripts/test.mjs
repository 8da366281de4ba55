#!/usr/bin/env node
// `npm test`: every test, on real WebGPU. Unit, kernel and model tests run in Node on Dawn (SwiftShader when
// the machine has no GPU); end-to-end tests build the page and drive it in Debian's Chromium.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const env = { ...process.env };
env.XDG_RUNTIME_DIR ??= '/tmp';
// Dawn loads libvulkan.so.1; Debian's chromium ships one beside SwiftShader, used when the system has none.
const hasSystemVulkan = spawnSync('sh', ['-c', 'ldconfig -p | grep -q "libvulkan.so.1 "']).status === 0;
if (!hasSystemVulkan && existsSync('/usr/lib/chromium/libvulkan.so.1')) {
  env.LD_LIBRARY_PATH = ['/usr/lib/chromium', env.LD_LIBRARY_PATH].filter(Boolean).join(':');
}

const args = process.argv.slice(2);
const run = (cmd, cmdArgs) => {
  console.log(`\n$ ${cmd} ${cmdArgs.join(' ')}`);
  const r = spawnSync(cmd, cmdArgs, { stdio: 'inherit', env });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

run('npx', ['vitest', 'run', ...args]);
const e2eDir = new URL('../tests/e2e/', import.meta.url);
if (args.length === 0 && existsSync(e2eDir) && readdirSync(e2eDir).some((f) => f.endsWith('.test.ts'))) {
  run('npx', ['vite', 'build', '--logLevel', 'warn']);
  run('npx', ['vitest', 'run', '--config', 'vitest.e2e.config.ts']);
}
