#!/usr/bin/env node
// `npm test`: every test, on real WebGPU. Unit, kernel and model tests run in Node on Dawn (SwiftShader when
// the machine has no GPU); end-to-end tests build the page and drive it in Debian's Chromium.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';

const env = { ...process.env };
env.XDG_RUNTIME_DIR ??= '/tmp';
// Dawn loads libvulkan.so.1; Debian's chromium ships one beside SwiftShader, used when the system has none.
const hasSystemVulkan = spawnSync('sh', ['-c', 'ldconfig -p | grep -q "libvulkan.so.1 "']).status === 0;
if (!hasSystemVulkan && existsSync('/usr/lib/chromium/libvulkan.so.1')) {
  env.LD_LIBRARY_PATH = ['/usr/lib/chromium', env.LD_LIBRARY_PATH].filter(Boolean).join(':');
}

const args = process.argv.slice(2);
const totals = { passed: 0, failed: 0, skipped: 0 };
const finish = (code) => {
  // One plain summary line over both suites, for CI logs.
  console.log(`\nall suites: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
  process.exit(code);
};
const run = (cmd, cmdArgs, report) => {
  console.log(`\n$ ${cmd} ${cmdArgs.join(' ')}`);
  if (report) rmSync(report, { force: true }); // never count an earlier run's report
  const r = spawnSync(cmd, cmdArgs, { stdio: 'inherit', env });
  if (report && existsSync(report)) {
    const j = JSON.parse(readFileSync(report, 'utf8'));
    totals.passed += j.numPassedTests ?? 0;
    totals.failed += j.numFailedTests ?? 0;
    totals.skipped += (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
  }
  if (r.status !== 0) finish(r.status ?? 1);
};
const vitestArgs = (name) => ['--reporter=default', '--reporter=json', `--outputFile.json=test-results/${name}.json`];

// Lint, format and type checks first: a whole run only, since arguments narrow the run to some test files.
if (args.length === 0) run('npm', ['run', '--silent', 'lint']);
run('npx', ['vitest', 'run', ...vitestArgs('node'), ...args], 'test-results/node.json');
const e2eDir = new URL('../tests/e2e/', import.meta.url);
if (args.length === 0 && existsSync(e2eDir) && readdirSync(e2eDir).some((f) => f.endsWith('.test.ts'))) {
  run('npx', ['vite', 'build', '--logLevel', 'warn']);
  run('npx', ['vitest', 'run', '--config', 'vitest.e2e.config.ts', ...vitestArgs('e2e')], 'test-results/e2e.json');
}
finish(0);
