// Dropout rates travel with the model: new models take HF's 0.1 (or the rate asked for), imports keep theirs, exports
// write them, and the page's model description carries them.
import { describe, it, expect } from 'vitest';
import { presetConfig, presetDims } from '../../src/core/model/presets.ts';
import {
  DEFAULT_DROPOUT,
  validateGpt2Dims,
  makeGpt2Config,
  type GPT2Dims,
} from '../../src/core/model/families/gpt2_config.ts';
import { modelConfigToJson, parseModelConfig } from '../../src/core/model/families/index.ts';
import { charTokenizerFrom } from '../../src/core/tokenizer/index.ts';

const rates = (config: object) => [c(config).embd_pdrop, c(config).attn_pdrop, c(config).resid_pdrop];
const c = (config: object) => config as GPT2Dims;

describe('dropout rates in model configs', () => {
  it('a new model takes 0.1 for all three, as HF GPT2Config, or the rate given', () => {
    const tok = charTokenizerFrom('abcdef');
    expect(DEFAULT_DROPOUT).toBe(0.1);
    expect(rates(presetConfig('toy', tok))).toEqual([0.1, 0.1, 0.1]);
    expect(rates(presetConfig('toy', tok, 0))).toEqual([0, 0, 0]);
    expect(rates(presetConfig('toy', tok, 0.3))).toEqual([0.3, 0.3, 0.3]);
    expect(() => presetConfig('toy', tok, 1)).toThrow(/pdrop must be in \[0, 1\)/);
  });

  it('an imported config.json keeps its rates; an export writes them', () => {
    const text = modelConfigToJson(
      makeGpt2Config({
        vocab_size: 13,
        n_positions: 9,
        n_embd: 8,
        n_layer: 1,
        n_head: 2,
        embd_pdrop: 0,
        attn_pdrop: 0.2,
        resid_pdrop: 0.05,
      }),
    );
    const c = parseModelConfig(text);
    expect(rates(c)).toEqual([0, 0.2, 0.05]);
    expect(rates(JSON.parse(modelConfigToJson(c)))).toEqual([0, 0.2, 0.05]);
  });

  it('model dims refuse a rate outside [0, 1) and accept none (no dropout)', () => {
    const d = presetDims('toy', 10) as GPT2Dims;
    expect(() => validateGpt2Dims(d)).not.toThrow();
    expect(() => validateGpt2Dims({ ...d, attn_pdrop: 1 })).toThrow(/attn_pdrop must be in \[0, 1\)/);
    expect(() => validateGpt2Dims({ ...d, resid_pdrop: -0.1 })).toThrow(/resid_pdrop/);
  });
});
