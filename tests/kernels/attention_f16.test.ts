// The mixed-precision attention (q, k, v and dO read in f16, all arithmetic in f32) against the float64 reference,
// on qkv and dO that are f16 values already. Their casts are then exact and products of f16 values are exact in
// f32, so the kernels' error is that of the f32 kernels: the same 1e-4.
import { describe, it } from 'vitest';
import { useGpu, rng, expectClose, tf } from '../helpers.ts';
import { causalSelfAttention } from '../../src/core/kernels/attention/index.ts';
import { attentionForward } from '../../src/core/kernels/attention/reference.ts';
import { roundArrayToHalf } from '../../src/core/kernels/half/reference.ts';
import {
  ATTENTION_CASES,
  MASK_CASES,
  PACKED_CASES,
  caseLabel,
  checkAttention,
  checkLogsumexpGradient,
} from './attention_cases.ts';

describe('causal self-attention with f16 operands', () => {
  useGpu();

  // hd = 128 is left to the f32 file: the f16 loads are the same code at every hd.
  for (const c of [...ATTENTION_CASES, MASK_CASES[3], ...PACKED_CASES].filter((x) => x.hd !== 128)) {
    it(`output, logsumexp and dqkv match the float64 reference, ${caseLabel(c)}`, () => checkAttention(c, 'f16'));
  }

  it('the logsumexp output is differentiable too, nothing is left behind, and the public entry point takes half', async () => {
    await checkLogsumexpGradient({ half: true });
    const [B, T, nHead, hd] = [1, 11, 2, 5];
    const C = nHead * hd;
    const r = rng();
    const qkvValues = roundArrayToHalf(r.normals(B * T * 3 * C));
    const qkv = tf.tensor3d(qkvValues, [B, T, 3 * C]);
    const out = causalSelfAttention(qkv, nHead, undefined, { half: true });
    const want = attentionForward(qkvValues, { B, T, C, nHead }).out;
    expectClose(await out.data(), want, 1e-4, `seed ${r.seed} out`);
    tf.dispose([qkv, out]);
  });
});
