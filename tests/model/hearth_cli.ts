// Running `hearth` as a user does: in a child process, from the repository root. `hearth` runs the command bundled
// (tests/bundles.ts), which starts in a fraction of the time; `hearthFromSources` runs bin/hearth.js as npx does.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { bundledScript } from '../bundles.ts';

const root = new URL('../../', import.meta.url).pathname;

type Result = { code: number | null; stdout: string; stderr: string };

export const hearth = (...args: string[]): Result => run(bundledScript('hearth'), args);

export const hearthFromSources = (...args: string[]): Result => run(join(root, 'bin/hearth.js'), args);

function run(script: string, args: string[]): Result {
  const r = spawnSync('node', [script, ...args], {
    encoding: 'utf8',
    cwd: root,
    timeout: 400_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
