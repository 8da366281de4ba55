// A checkpoint's tokenizer is checked against its model when loaded (the CLI and the worker share the check): a
// tokenizer with more ids than the model has embeddings, or a special id past them, is named with both sizes.
import { describe, expect, it } from 'vitest';
import { charTokenizerFrom } from '../../src/core/tokenizer/index.ts';
import { checkpointTokenizer, setUpRun } from '../../src/core/train/run_setup.ts';
import { tinyCheckpoint } from './checkpoint_fixtures.ts';

/** tinyCheckpoint's model has vocab_size 13. */
const withTokenizer = (tokenizerJson: string, generationConfig?: Record<string, unknown>) => ({
  ...tinyCheckpoint(),
  tokenizer: { 'tokenizer.json': tokenizerJson },
  generationConfig,
});

describe('tokenizer against model', () => {
  it('accepts a tokenizer whose ids all have an embedding', () => {
    const tokenizer = checkpointTokenizer(withTokenizer(charTokenizerFrom('abcdefghij').toTokenizerJson()));
    expect(tokenizer.vocabSize).toBe(12);
  });

  it('refuses a tokenizer larger than the model, naming its file and both sizes', () => {
    const big = withTokenizer(charTokenizerFrom('abcdefghijklmnopqrstuvwxyz').toTokenizerJson());
    const message =
      'tokenizer.json has 28 tokens but the model (config.json) has vocab_size 13: ids from 13 on have no embedding';
    expect(() => checkpointTokenizer(big)).toThrow(message);
    // a run reads the checkpoint's tokenizer the same way, before the model is put on the GPU
    expect(() => setUpRun({ kind: 'fine-tune', checkpoint: big })).toThrow(message);
    // a tokenizer handed in (the page's worker passes the one it loaded) is held to the same check
    const given = charTokenizerFrom('abcdefghijklmnopqrstuvwxyz');
    expect(() => setUpRun({ kind: 'fine-tune', checkpoint: tinyCheckpoint(), tokenizer: given })).toThrow(
      'the tokenizer has 28 tokens but the model (config.json) has vocab_size 13',
    );
  });

  it("refuses an end-of-text id past the model's embeddings", () => {
    const bpe = JSON.stringify({ version: '1.0', model: { type: 'BPE', vocab: { a: 0, b: 1 }, merges: [] } });
    expect(() => checkpointTokenizer(withTokenizer(bpe, { eos_token_id: 1 }))).not.toThrow();
    expect(() => checkpointTokenizer(withTokenizer(bpe, { eos_token_id: 40 }))).toThrow(
      "tokenizer.json (with generation_config.json's eos_token_id) names the special token id 40, but the model (config.json) has vocab_size 13 (ids 0 to 12)",
    );
  });
});
