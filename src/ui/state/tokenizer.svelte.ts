// The tokenizer a new model will use: GPT-2's (shipped), a byte-level BPE of N tokens trained on the dropped
// files, or characters. Training runs in its own worker with progress; the result is handed to the engine
// worker, which counts the files' tokens with it. A new model's vocabulary is this tokenizer's.
import { trainTokenizerInWorker } from '../../core/tokenizer/train_in_worker.ts';
import type { EngineClient, TokenizerInfo } from '../../worker/client.ts';

export type TokenizerKind = 'gpt2' | 'bpe' | 'char';

export type TokenizerStatus =
  | { kind: 'idle' }
  | { kind: 'waiting' } // a trained tokenizer needs files first
  | { kind: 'loading' }
  | { kind: 'training'; phase: 'counting' | 'merging'; fraction: number }
  | { kind: 'ready' }
  | { kind: 'failed'; message: string };

const MIN_BPE_VOCAB = 257;
const MAX_BPE_VOCAB = 65536;

export class TokenizerChoice {
  kind = $state<TokenizerKind>('gpt2');
  bpeVocabText = $state('4096');
  /** the tokenizer in use, once loaded or trained */
  current = $state.raw<TokenizerInfo | null>(null);
  status = $state<TokenizerStatus>({ kind: 'idle' });

  bpeVocab = $derived.by(() => {
    const v = Number(this.bpeVocabText);
    return Number.isInteger(v) && v >= MIN_BPE_VOCAB && v <= MAX_BPE_VOCAB ? v : null;
  });
  bpeVocabProblem = $derived(
    this.bpeVocab === null
      ? `must be an integer from ${MIN_BPE_VOCAB} (the 256 bytes and end-of-text) to ${MAX_BPE_VOCAB}`
      : null,
  );

  readonly #client: EngineClient;
  #training: AbortController | null = null;
  #request = 0;

  constructor(client: EngineClient) {
    this.#client = client;
  }

  /** Makes `current` match the choice; a trained tokenizer is trained on `files` (all of them, in order). */
  async update(files: File[]): Promise<void> {
    if (this.kind === 'gpt2' && this.current?.key === 'gpt2' && this.status.kind === 'ready') return;
    const request = ++this.#request;
    this.#training?.abort();
    this.#training = null;
    const stale = () => request !== this.#request;
    this.current = null;
    try {
      if (this.kind === 'gpt2') {
        this.status = { kind: 'loading' };
        const info = await this.#client.call('useTokenizer', { spec: { kind: 'gpt2' } });
        if (stale()) return;
        this.current = info;
        this.status = { kind: 'ready' };
        return;
      }
      if (this.kind === 'bpe' && this.bpeVocab === null) {
        this.status = { kind: 'failed', message: `vocabulary size ${this.bpeVocabProblem}` };
        return;
      }
      if (files.length === 0) {
        this.status = { kind: 'waiting' };
        return;
      }
      const controller = new AbortController();
      this.#training = controller;
      this.status = { kind: 'training', phase: 'counting', fraction: 0 };
      const kind = this.kind;
      const tokenizer = await trainTokenizerInWorker(files, {
        kind,
        vocabSize: this.bpeVocab ?? undefined,
        signal: controller.signal,
        onProgress: (p) => {
          if (!stale())
            this.status = { kind: 'training', phase: p.phase, fraction: p.total > 0 ? p.done / p.total : 0 };
        },
      });
      if (stale()) return;
      const label =
        kind === 'char'
          ? `characters of your files (${tokenizer.vocabSize} tokens)`
          : `BPE trained on your files (${tokenizer.vocabSize} tokens)`;
      const info = await this.#client.call('useTokenizer', {
        spec: { kind: 'json', json: tokenizer.toTokenizerJson(), label },
      });
      if (stale()) return;
      this.current = info;
      this.status = { kind: 'ready' };
    } catch (e) {
      if (stale() || (e instanceof DOMException && e.name === 'AbortError')) return;
      this.status = { kind: 'failed', message: e instanceof Error ? e.message : String(e) };
    } finally {
      if (!stale()) this.#training = null;
    }
  }
}
