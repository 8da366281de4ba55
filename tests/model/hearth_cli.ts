// Running `hearth` as a user does: the bin script in a child process, from the repository root.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;

export function hearth(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('node', [join(root, 'bin/hearth.js'), ...args], {
    encoding: 'utf8',
    cwd: root,
    timeout: 400_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
