// The device kit's driver, started by kit/run.sh with the kit's own Node from the folder run.sh unpacked (bench.mjs,
// hearth.mjs and Dawn beside it). It probes the Vulkan drivers run.sh found and keeps the first that gives a GPU
// adapter, then runs each section as a process of its own within the time budget: a bench section, `profile`
// (bench --profile), or `hearth_train` (the CLI trains on a generated corpus). After each it rewrites
// kit_results.json; a section that fails or runs out of time is recorded as such and the next one runs.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeCorpus } from '../../bench/corpus.ts';
import { plain, writeJsonFile, type BenchRecord, type BenchResults, type SectionResult } from '../../bench/report.ts';

const DEFAULT_SECTIONS = ['matmul', 'train', 'fp16', 'memory', 'hearth_train', 'profile', 'attention', 'generate'];
/** A section is not started with less time than this left: it could not finish anything worth reading. */
const MIN_SECTION_S = 15;
/** Kept back from the budget for the summary and the last writes. */
const RESERVE_S = 5;
/** A process asked to stop (SIGTERM) at its limit is killed this much later. */
const KILL_AFTER_S = 10;
const PROBE_LIMIT_S = 90;

// `hearth train` on a generated corpus: GPT-2 124M with its tokenizer on a GPU, the toy model on SwiftShader.
const GPU_TRAINING = {
  chars: 2_000_000,
  args: '--model gpt2 --tokenizer gpt2 --max_steps 30 --logging_steps 5 --per_device_train_batch_size 8 --block_size 256 --learning_rate 3e-4 --save_strategy no',
};
const SOFTWARE_TRAINING = {
  chars: 20_000,
  args: '--model toy --tokenizer char --max_steps 4 --logging_steps 2 --per_device_train_batch_size 2 --block_size 16 --save_strategy no',
};

interface Options {
  kit: string;
  out: string;
  started: number;
  budget: number;
  sections: string[];
  sectionLimit: number;
  quick: boolean;
  trainArgs: string | null;
  software: boolean;
  icds: string[];
  kitLibs: string[];
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    kit: '',
    out: '',
    started: Date.now() / 1000,
    budget: 300,
    sections: DEFAULT_SECTIONS,
    sectionLimit: 0,
    quick: false,
    trainArgs: null,
    software: false,
    icds: [],
    kitLibs: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      return argv[++i];
    };
    const seconds = () => {
      const name = argv[i];
      const v = Number(value());
      if (!(v > 0)) throw new Error(`${name} takes a number of seconds, got '${argv[i]}'`);
      return v;
    };
    switch (argv[i]) {
      case '--kit':
        o.kit = value();
        break;
      case '--out':
        o.out = value();
        break;
      case '--started':
        o.started = seconds();
        break;
      case '--budget':
        o.budget = seconds();
        break;
      case '--sections':
        o.sections = value()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        break;
      case '--section-limit':
        o.sectionLimit = seconds();
        break;
      case '--quick':
        o.quick = true;
        break;
      case '--train-args':
        o.trainArgs = value();
        break;
      case '--software':
        o.software = true;
        break;
      case '--icd':
        o.icds.push(value());
        break;
      case '--kit-libs':
        o.kitLibs = value().split(/\s+/).filter(Boolean);
        break;
      default:
        throw new Error(`unknown option '${argv[i]}'`);
    }
  }
  if (!o.out) throw new Error('--out is required');
  o.sectionLimit ||= o.budget / 3;
  return o;
}

interface ChildRun {
  code: number | null;
  timedOut: boolean;
  /** stdout and stderr lines in the order they came */
  lines: string[];
  stdout: string[];
  stderr: string[];
}

/** Runs the kit's Node on `args`, echoing its output as it comes; stopped at `limitSeconds`. */
function runNode(args: string[], env: NodeJS.ProcessEnv, limitSeconds: number): Promise<ChildRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const run: ChildRun = { code: null, timedOut: false, lines: [], stdout: [], stderr: [] };
    const collect = (stream: NodeJS.ReadableStream, into: string[], print: (line: string) => void) => {
      let rest = '';
      const take = (line: string) => {
        into.push(line);
        run.lines.push(line);
        print(line);
      };
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop()!;
        parts.forEach(take);
      });
      stream.on('end', () => rest && take(rest));
    };
    collect(child.stdout, run.stdout, (line) => console.log(line));
    collect(child.stderr, run.stderr, (line) => console.error(line));
    let kill: NodeJS.Timeout | undefined;
    const stop = setTimeout(() => {
      run.timedOut = true;
      console.error(`(stopping it: its ${Math.round(limitSeconds)} s are up)`);
      child.kill('SIGTERM');
      kill = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_S * 1000);
    }, limitSeconds * 1000);
    child.on('error', (e) => run.stderr.push(`could not start: ${e.message}`));
    child.on('close', (code) => {
      clearTimeout(stop);
      clearTimeout(kill);
      resolve({ ...run, code });
    });
  });
}

const tail = (lines: string[], n = 30) => lines.slice(-n);

function readBenchJson(path: string): BenchResults | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as BenchResults;
  } catch {
    return null;
  }
}

/** The section as the bench wrote it, its status settled by how the process ended. */
function settle(name: string, run: ChildRun, seconds: number, written?: SectionResult): SectionResult {
  const section: SectionResult = written ?? {
    name,
    status: 'running',
    seconds,
    lines: run.stdout,
    results: [],
    result_lines: [],
  };
  section.seconds = seconds;
  if (run.timedOut) section.status = 'timed out';
  else if (section.status === 'running' || (run.code !== 0 && section.status === 'ok')) section.status = 'failed';
  if (section.status !== 'ok') {
    section.error ??= run.timedOut ? `stopped after ${seconds.toFixed(0)} s` : `exit code ${run.code}`;
    Object.assign(section, { exit_code: run.code, stderr: tail(run.stderr) });
  }
  return section;
}

interface Probe {
  icd: string;
  outcome: 'gpu' | 'software' | 'no adapter';
  adapter: string | null;
  stderr: string[];
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  const here = dirname(fileURLToPath(import.meta.url));
  const now = () => Date.now() / 1000;
  const deadline = o.started + o.budget - RESERVE_S;
  const resultsPath = join(o.out, 'kit_results.json');
  const manifestPath = join(o.kit, 'manifest.json');

  // The GPU as its driver sees it; the plain list where a field of the query is unknown to this driver.
  const nvidiaSmi = (...args: string[]) => spawnSync('nvidia-smi', args, { encoding: 'utf8', timeout: 20_000 });
  let gpus = nvidiaSmi(
    '--query-gpu=name,driver_version,memory.total,memory.used,clocks.sm,clocks.max.sm,temperature.gpu,power.draw',
    '--format=csv',
  );
  if (gpus.status !== 0 && !gpus.error) gpus = nvidiaSmi('-L');
  const results = {
    format: 'hearth-kit',
    version: 1,
    started: new Date(o.started * 1000).toISOString(),
    finished: null as string | null,
    elapsed_s: 0,
    budget_s: o.budget,
    status: 'running' as 'running' | 'ok' | 'some sections failed' | 'no adapter',
    kit: existsSync(manifestPath) ? (JSON.parse(readFileSync(manifestPath, 'utf8')) as unknown) : null,
    environment: {
      node: process.version,
      kernel: release(),
      cpus: cpus().length,
      memory_bytes: totalmem(),
      nvidia_smi: gpus.status === 0 ? gpus.stdout.trim().split('\n') : null,
      kit_libraries: o.kitLibs,
      vulkan_driver: null as string | null,
      driver_probes: [] as Probe[],
    },
    adapter: null as BenchRecord | null,
    sections: [] as SectionResult[],
  };
  const save = () => {
    results.elapsed_s = now() - o.started;
    writeJsonFile(resultsPath, results);
  };
  if (results.environment.nvidia_smi) console.log(`nvidia-smi:\n  ${results.environment.nvidia_smi.join('\n  ')}`);
  save();

  // The adapter: each Vulkan driver in turn until one gives a GPU (or, with --software, any adapter).
  let env: NodeJS.ProcessEnv = { ...process.env };
  for (const [i, icd] of o.icds.entries()) {
    const remaining = deadline - now();
    if (remaining < MIN_SECTION_S) break;
    console.log(`\nprobing the Vulkan driver ${icd}`);
    const probeEnv = { ...process.env, VK_DRIVER_FILES: icd, VK_ICD_FILENAMES: icd, VK_LOADER_DEBUG: 'error,warn' };
    const json = join(here, `adapter-${i}.json`);
    const t0 = now();
    const run = await runNode(
      [join(here, 'bench.mjs'), 'adapter', '--json', json],
      probeEnv,
      Math.min(PROBE_LIMIT_S, remaining),
    );
    const section = settle('adapter', run, now() - t0, readBenchJson(json)?.sections[0]);
    const record = section.status === 'ok' ? section.results[0] : undefined;
    const outcome = !record ? 'no adapter' : record.software ? 'software' : 'gpu';
    results.environment.driver_probes.push({
      icd,
      outcome,
      adapter: record ? String(record.description || record.device || record.vendor) : null,
      stderr: tail(run.stderr, 20),
    });
    if (outcome === 'gpu' || (outcome === 'software' && o.software)) {
      const { VK_LOADER_DEBUG: _, ...chosen } = probeEnv;
      env = chosen;
      results.environment.vulkan_driver = icd;
      results.adapter = record!;
      results.sections.push(section);
      break;
    }
    save();
  }
  if (!results.adapter) {
    results.status = 'no adapter';
    console.log(
      `\nno ${o.software ? '' : 'GPU '}adapter from any Vulkan driver (${o.icds.length ? o.icds.join(', ') : 'none found'}); ` +
        `the probes are in ${resultsPath}. On an NVIDIA machine, check that its driver's Vulkan ICD and libraries ` +
        '(libEGL_nvidia, libGLX_nvidia, libnvidia-glvkspirv) are there, or pass VK_DRIVER_FILES.',
    );
    results.finished = new Date().toISOString();
    save();
    return 3;
  }
  save();

  for (const [k, name] of o.sections.entries()) {
    const remaining = deadline - now();
    if (remaining < MIN_SECTION_S) {
      console.log(`\n== ${name} == skipped: ${Math.max(0, remaining).toFixed(0)} s of the budget left`);
      results.sections.push({
        name,
        status: 'skipped',
        seconds: 0,
        lines: [],
        results: [],
        result_lines: [],
        error: 'not started: the time budget was spent',
      });
      save();
      continue;
    }
    const limit = Math.min(o.sectionLimit, remaining);
    const t0 = now();
    let section: SectionResult;
    if (name === 'hearth_train') {
      section = await hearthTrain(here, env, limit, o);
    } else {
      const json = join(here, `section-${k}.json`);
      const args = [join(here, 'bench.mjs'), name === 'profile' ? '--profile' : name];
      if (o.quick) args.push('--quick');
      const run = await runNode([...args, '--json', json], env, limit);
      section = settle(name, run, now() - t0, readBenchJson(json)?.sections.find((s) => s.name === name));
    }
    results.sections.push(section);
    save();
  }

  const bad = results.sections.filter((s) => s.status === 'failed' || s.status === 'timed out');
  results.status = bad.length ? 'some sections failed' : 'ok';
  results.finished = new Date().toISOString();
  save();
  printSummary(results.sections, o, now() - o.started);
  return bad.length ? 1 : 0;
}

/** `hearth train` on a generated corpus; its logged steps become the section's records. */
async function hearthTrain(here: string, env: NodeJS.ProcessEnv, limit: number, o: Options): Promise<SectionResult> {
  console.log(`\n== hearth_train ==`);
  const plan = o.software ? SOFTWARE_TRAINING : GPU_TRAINING;
  const corpus = join(here, 'corpus.txt');
  writeFileSync(corpus, makeCorpus(plan.chars, 0.2, 3));
  const args = (o.trainArgs ?? plan.args).split(/\s+/).filter(Boolean);
  const command = ['train', '--data', corpus, '--out', join(here, 'train-out'), ...args];
  console.log(`hearth ${command.join(' ')}`);
  const t0 = Date.now();
  const run = await runNode([join(here, 'hearth.mjs'), ...command], env, limit);
  const section: SectionResult = {
    name: 'hearth_train',
    status: 'running',
    seconds: 0,
    lines: [`hearth ${command.join(' ')}`, ...run.lines],
    results: [],
    result_lines: [],
  };
  section.lines.forEach((line, i) => {
    const m = /^step (\d+)\/(\d+) .*loss ([\d.]+) .*grad_norm ([\d.]+) tokens\/s (\d+)/.exec(line);
    if (!m) return;
    const [step, steps, loss, gradNorm, tokensPerSecond] = m.slice(1).map(Number);
    section.results.push(plain({ step, steps, loss, grad_norm: gradNorm, tokens_per_s: tokensPerSecond }));
    section.result_lines.push(i);
  });
  if (run.code === 0) section.status = 'ok';
  return settle('hearth_train', run, (Date.now() - t0) / 1000, section);
}

/**
 * The figures again, short, at the end of the output (where a remote run's last lines are shown): each section's
 * result lines, each run of them after the line before it (a table's header, a case's name).
 */
function printSummary(sections: SectionResult[], o: Options, elapsed: number): void {
  const MAX_LINES = 12;
  const WIDTH = 150;
  console.log('\n== summary ==');
  for (const s of sections) {
    console.log(`${s.name}: ${s.status}, ${s.seconds.toFixed(0)} s${s.error ? ` (${s.error})` : ''}`);
    const results = new Set(s.result_lines);
    const lines = s.lines.filter((_, i) => results.has(i) || results.has(i + 1));
    for (const line of lines.slice(0, MAX_LINES)) {
      const text = line.trimEnd();
      console.log(`  ${text.length > WIDTH ? `${text.slice(0, WIDTH - 1)}…` : text}`);
    }
    if (lines.length > MAX_LINES) console.log(`  (${lines.length - MAX_LINES} more lines in kit_report.txt)`);
  }
  console.log(`${elapsed.toFixed(0)} s of the ${o.budget} s budget; results in ${o.out}: kit_report.txt, kit_results.json`);
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`kit driver: ${(e as Error).message}`);
    process.exit(2);
  },
);
