// `npm run bench -- --profile`: where one training step of the small config (and of GPT-2 124M on a real GPU) spends
// its GPU time, kernel by kernel. With timestamp-query each dispatch (tfjs's programs and ours) runs in its own timed
// compute pass under tf.profile; the table groups the dispatches by the tfjs operation that issued them and the
// shader or tfjs program that ran. Without timestamp-query there are no per-dispatch times: the table lists the
// operations and their dispatch counts, and the step is timed whole.
//
// Timing each dispatch in its own pass (and reading each timestamp pair back) serialises the GPU, so the times
// add up to more than an untimed step takes; the shares are what to read.
import { initTf, tf } from '../src/core/gpu/tf.ts';
import { describeGpu } from '../src/core/gpu/device.ts';
import { CausalLM } from '../src/core/model/causal_lm.ts';
import { AdamW } from '../src/core/train/optimizer.ts';
import { Random } from '../src/core/util/random.ts';
import { SMALL_CONFIG, unfusedKernelOps, type BenchCase } from './train.ts';
import type { Ops } from '../src/core/model/ops.ts';
import { presetDims } from '../src/core/model/presets.ts';
import { GPT2_VOCAB_SIZE } from '../src/core/model/families/gpt2_config.ts';
import type { Report } from './report.ts';

export interface ProfileRow {
  /** the tfjs operation (our Hearth* ops or tfjs's own, e.g. Add) */
  op: string;
  /** the shader (ours) or tfjs program class that ran */
  program: string;
  calls: number;
  ms: number;
}

/** The program column of an operation that ran nothing on the GPU (a reshape, an identity). */
const NO_DISPATCH = '(no dispatch)';

/** Parses tfjs-backend-webgpu's extraInfo, "name: ms, name: ms", into (program, ms) pairs. */
export function programTimes(extraInfo: string): { program: string; ms: number }[] {
  if (!extraInfo) return [];
  return extraInfo.split(', ').map((part) => {
    const at = part.lastIndexOf(': ');
    return { program: part.slice(0, at), ms: Number(part.slice(at + 2)) };
  });
}

/**
 * One step (forward, backward, AdamW, loss read) under tf.profile. Each entry's extraInfo lists the dispatches
 * made while that operation ran. tfjs would list a nested operation's dispatches again in the operation around
 * it, but nothing in a step nests (tfjs's kernels call each other's functions directly, not through the engine).
 */
export interface StepProfile {
  /** by operation and kernel, most time first */
  rows: ProfileRow[];
  /** one untimed step: recording, GPU work, loss read */
  stepMs: number;
  /** CPU time to record that step (before waiting for the GPU) */
  recordMs: number;
  /** tfjs operations run, dispatches among them */
  ops: number;
  dispatches: number;
}

/** `ops` and `multiTensor` default to Hearth's (kernel ops, the one-dispatch AdamW). */
export async function profileStep(
  c: BenchCase,
  opts: { ops?: Ops; multiTensor?: boolean; warmup?: number } = {},
): Promise<StepProfile> {
  const { ops, multiTensor = true, warmup = 1 } = opts;
  const model = CausalLM.init(c.dims, 1);
  const opt = new AdamW(model.params, { weightDecay: 0.01, multiTensor });
  const rng = new Random(2);
  const tokens = Int32Array.from({ length: c.B * c.T }, () => rng.int(c.dims.vocab_size));
  const targets = Int32Array.from({ length: c.B * c.T }, () => rng.int(c.dims.vocab_size));
  let recordMs = 0;
  const step = async () => {
    const t0 = performance.now();
    const r = model.lossAndGrads(tokens, targets, c.B, c.T, { ops });
    const norm = opt.apply(r.grads, 1e-3);
    recordMs = performance.now() - t0;
    await r.loss.data();
    tf.dispose([r.loss, norm, ...r.grads.values()]);
  };
  for (let i = 0; i < warmup; i++) await step();
  const t0 = performance.now();
  await step();
  const stepMs = performance.now() - t0;
  const untimedRecordMs = recordMs;

  const profile = await tf.profile(step);
  const rows = new Map<string, ProfileRow>();
  const add = (op: string, program: string, ms: number) => {
    const key = `${op}\u0000${program}`;
    const row = rows.get(key) ?? { op, program, calls: 0, ms: 0 };
    row.calls++;
    row.ms += ms;
    rows.set(key, row);
  };
  for (const k of profile.kernels) {
    const times = programTimes(String(k.extraInfo ?? ''));
    for (const { program, ms } of times) add(k.name, program, ms);
    if (times.length === 0) add(k.name, NO_DISPATCH, 0);
  }
  opt.dispose();
  model.dispose();
  const sorted = [...rows.values()].sort((a, b) => b.ms - a.ms || b.calls - a.calls);
  const dispatches = sorted.filter((r) => r.program !== NO_DISPATCH).reduce((n, r) => n + r.calls, 0);
  return { rows: sorted, stepMs, recordMs: untimedRecordMs, ops: profile.kernels.length, dispatches };
}

export async function benchProfile(report: Report): Promise<void> {
  const ctx = await initTf();
  report(`profile of one train step on ${describeGpu(ctx)}`);
  const cases: BenchCase[] = [SMALL_CONFIG];
  // On a real GPU the step that matters is GPT-2's: where its time goes is what to tune.
  if (!ctx.info.software)
    cases.push({ label: 'GPT-2 124M, batch 4 × block 128', dims: presetDims('gpt2', GPT2_VOCAB_SIZE), B: 4, T: 128 });
  for (const c of cases) {
    report(`  ${c.label}`);
    const { rows, stepMs, recordMs, ops, dispatches } = await profileStep(c);
    const unfused = await profileStep(c, { ops: unfusedKernelOps, multiTensor: false });
    const line = (p: { stepMs: number; recordMs: number; ops: number; dispatches: number }) =>
      `${p.stepMs.toFixed(1)} ms (${p.recordMs.toFixed(1)} ms of it recording on the CPU); ${p.ops} tfjs operations, ${p.dispatches} dispatches`;
    report(`  whole step, untimed: ${line({ stepMs, recordMs, ops, dispatches })}`, {
      case: c.label,
      step_ms: stepMs,
      record_ms: recordMs,
      operations: ops,
      dispatches,
    });
    report(`  the same without the step-level fusions: ${line(unfused)}`, {
      case: `${c.label}, no fusions`,
      step_ms: unfused.stepMs,
      record_ms: unfused.recordMs,
      operations: unfused.ops,
      dispatches: unfused.dispatches,
    });
    const total = rows.reduce((s, r) => s + r.ms, 0);
    if (!ctx.features.timestampQuery) {
      report('  no timestamp-query on this adapter: operations and dispatch counts only');
    } else {
      report(`  sum of per-dispatch GPU times: ${total.toFixed(1)} ms (each dispatch timed alone; read the shares)`);
    }
    const opWidth = Math.max(9, ...rows.map((r) => r.op.length));
    const programWidth = Math.max(6, ...rows.map((r) => r.program.length));
    report(
      `  ${'operation'.padEnd(opWidth)} ${'kernel'.padEnd(programWidth)} ${'calls'.padStart(5)} ${'ms'.padStart(9)} ${'share'.padStart(6)}`,
    );
    for (const r of rows) {
      const share = total > 0 ? `${((100 * r.ms) / total).toFixed(1)}%` : '';
      report(
        `  ${r.op.padEnd(opWidth)} ${r.program.padEnd(programWidth)} ${String(r.calls).padStart(5)} ${r.ms.toFixed(2).padStart(9)} ${share.padStart(6)}`,
        {
          case: c.label,
          op: r.op,
          kernel: r.program,
          calls: r.calls,
          ms: r.ms,
          share: total > 0 ? r.ms / total : null,
        },
      );
    }
  }
}
