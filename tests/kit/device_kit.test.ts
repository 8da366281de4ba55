// The device kit as a bare GPU machine runs it: built by `npm run kit`, then run from a copy in a temporary folder
// with nothing of this machine's Node (an empty environment, a PATH of the few tools run.sh needs and no `node`, no
// node_modules), SwiftShader as the Vulkan driver and the kit's own Vulkan loader and libraries.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SectionResult } from '../../bench/report.ts';

const root = new URL('../../', import.meta.url).pathname;
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
/** What run.sh may call; ldconfig only where it is found (the kit then uses all of its libraries). */
const TOOLS = ['bash', 'gzip', 'mkdir', 'mktemp', 'rm', 'ln', 'cp', 'chmod', 'cat', 'tee', 'date'];

interface KitResults {
  format: string;
  status: string;
  environment: {
    node: string;
    vulkan_driver: string | null;
    kit_libraries: string[];
    nvidia_smi: string[] | null;
    driver_probes: { icd: string; outcome: string }[];
  };
  adapter: Record<string, unknown> | null;
  sections: SectionResult[];
}

describe('device kit (npm run kit, kit/run.sh)', () => {
  let dir = '';
  let kit = '';
  let bin = '';
  let work = '';
  const runKit = (out: string, ...args: string[]) => {
    const r = spawnSync(join(bin, 'bash'), [join(kit, 'run.sh'), '--swiftshader', '--kit-libs', 'all', '--out', out, ...args], {
      cwd: dir,
      env: { PATH: bin, HOME: dir },
      encoding: 'utf8',
      timeout: 900_000,
    });
    const results = JSON.parse(readFileSync(join(out, 'kit_results.json'), 'utf8')) as KitResults;
    return { code: r.status, output: r.stdout + r.stderr, results, report: readFileSync(join(out, 'kit_report.txt'), 'utf8') };
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hearth-kit-test-'));
    kit = join(dir, 'kit');
    const built = spawnSync(
      process.execPath,
      ['--import', './scripts/node_register.mjs', 'scripts/kit/build.ts', '--out', kit],
      { cwd: root, encoding: 'utf8', timeout: 600_000 },
    );
    expect(built.status, built.stdout + built.stderr).toBe(0);
    bin = join(dir, 'bin');
    work = join(dir, 'work');
    mkdirSync(bin);
    mkdirSync(work);
    for (const tool of [...TOOLS, 'ldconfig']) {
      const found = spawnSync('sh', ['-c', `command -v ${tool} || ls /sbin/${tool}`], { encoding: 'utf8' });
      const path = found.stdout.trim().split('\n')[0];
      if (found.status === 0 && path) symlinkSync(path, join(bin, tool));
      else expect(tool, `run.sh needs ${tool}`).toBe('ldconfig');
    }
  }, 600_000);

  it('is under 60 MiB and carries no node_modules', () => {
    const all = readdirSync(kit, { recursive: true, encoding: 'utf8' })
      .map((f) => join(kit, f))
      .filter((f) => statSync(f).isFile());
    expect(all.reduce((n, f) => n + statSync(f).size, 0)).toBeLessThan(60 * 2 ** 20);
    expect(all.some((f) => f.includes('node_modules'))).toBe(false);
    expect(existsSync(join(bin, 'node'))).toBe(false);
  });

  it('runs the bench and hearth train on SwiftShader without this machine\'s Node, and writes JSON and text', () => {
    const out = join(dir, 'out');
    const { code, output, results, report } = runKit(out, '--sections', 'matmul,hearth_train', '--quick', '--budget', '800');
    expect(code, output).toBe(0);
    // Few files, none in folders: the device returns at most 8.
    expect(readdirSync(out).sort()).toEqual(['kit_report.txt', 'kit_results.json']);

    expect(results.format).toBe('hearth-kit');
    expect(results.status).toBe('ok');
    expect(results.environment.node).toBe(process.version);
    expect(results.environment.vulkan_driver).toBe(SWIFTSHADER_ICD);
    expect(results.environment.kit_libraries).toContain('libvulkan.so.1');
    expect(results.environment.nvidia_smi).toBeNull();
    expect(results.adapter).toMatchObject({ architecture: 'swiftshader', software: true });
    expect(results.sections.map((s) => [s.name, s.status])).toEqual([
      ['adapter', 'ok'],
      ['matmul', 'ok'],
      ['hearth_train', 'ok'],
    ]);

    const matmul = results.sections[1];
    expect(matmul.results).toHaveLength(1);
    const row = matmul.results[0] as Record<string, number>;
    expect(row).toMatchObject({ M: 64, K: 64, N: 256 });
    for (const key of ['ours_gflops', 'tf_matmul_gflops', 'ours_bias_gelu_gflops', 'stock_bias_gelu_gflops'])
      expect(row[key], key).toBeGreaterThan(0);
    expect(row.max_rel_diff).toBeLessThan(1e-4);
    expect(matmul.lines[matmul.result_lines[0]]).toMatch(/^ {2}64×64×256 /);

    const train = results.sections[2];
    expect(train.results.map((r) => r.step)).toEqual([2, 4]);
    for (const r of train.results) {
      expect(r.loss).toBeGreaterThan(0);
      expect(r.tokens_per_s).toBeGreaterThan(0);
    }
    expect(train.lines.join('\n')).toMatch(/finished at step 4/);

    // The text report holds every line, then the summary.
    for (const line of [...matmul.lines, ...train.lines.slice(1)]) expect(report).toContain(line);
    expect(report).toMatch(/kit libraries used: .*libvulkan\.so\.1/);
    expect(report).toMatch(/== summary ==\nadapter: ok/);
    // What it unpacked (Node, Dawn, a GPT checkpoint) is gone.
    expect(readdirSync(work)).toEqual([]);
  }, 900_000);

  it('stops a section at its time limit and keeps going, and says so', () => {
    const out = join(dir, 'out-limit');
    const { code, results, report } = runKit(out, '--sections', 'matmul,hearth_train', '--section-limit', '1');
    expect(code).toBe(1);
    expect(results.status).toBe('some sections failed');
    expect(results.sections.map((s) => [s.name, s.status])).toEqual([
      ['adapter', 'ok'],
      ['matmul', 'timed out'],
      ['hearth_train', 'timed out'],
    ]);
    expect(report).toMatch(/matmul: timed out/);
  }, 600_000);

  it('reports a Vulkan driver that gives no adapter, and runs nothing on it', () => {
    const out = join(dir, 'out-none');
    const { code, results, output } = runKit(out, '--swiftshader=/nonexistent/icd.json');
    expect(code).toBe(3);
    expect(results.status).toBe('no adapter');
    expect(results.environment.driver_probes).toEqual([
      expect.objectContaining({ icd: '/nonexistent/icd.json', outcome: 'no adapter' }),
    ]);
    expect(results.sections).toEqual([]);
    expect(output).toMatch(/no adapter from any Vulkan driver/);
  }, 600_000);
});
