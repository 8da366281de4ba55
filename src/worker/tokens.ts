// Tokenizers the worker knows by key (GPT-2's, ones trained on the page, each loaded model's own), and token
// counting of dropped files. Tokens go to the IndexedDB token cache, keyed by content and tokenizer, where
// loading the dataset for training finds them again: a file is tokenized once.
import {
  DataFileError,
  documentTokens,
  indexedDbTokenCache,
  sha256Hex,
  sourceFromBlob,
  type FileMessage,
  type IndexedDbTokenCache,
  type SweepResult,
} from '../core/data/index.ts';
import { loadGpt2Tokenizer, tokenizerFromJson, type Tokenizer } from '../core/tokenizer/index.ts';
import {
  EngineError,
  GPT2_TOKENIZER_KEY,
  type CountEvent,
  type TokenizerInfo,
  type TokenizerSpec,
} from './protocol.ts';

export class TokenizerRegistry {
  private readonly byKey = new Map<string, { tokenizer: Tokenizer; label: string }>();
  readonly cache: IndexedDbTokenCache = indexedDbTokenCache();

  /**
   * Drops the least recently used tokenized files once the cache outgrows a quarter of the origin's storage quota
   * (at least 1 GiB, at most 8 GiB): files dropped again are tokenized again, and nothing else is lost.
   */
  async sweepCache(): Promise<SweepResult> {
    const GiB = 2 ** 30;
    const quota = (await navigator.storage?.estimate?.())?.quota ?? 4 * GiB;
    return this.cache.sweep(Math.min(8 * GiB, Math.max(GiB, quota / 4)));
  }

  async use(spec: TokenizerSpec): Promise<TokenizerInfo> {
    if (spec.kind === 'gpt2') {
      await this.get(GPT2_TOKENIZER_KEY);
      return this.info(GPT2_TOKENIZER_KEY);
    }
    return this.register(tokenizerFromJson(spec.json), spec.label);
  }

  /**
   * Keys by content, so the same vocabulary registered twice is one entry; the summary is part of it, since two
   * models may share a tokenizer.json but not their special tokens or end-of-text ids.
   */
  async register(tokenizer: Tokenizer, label: string): Promise<TokenizerInfo> {
    const content = tokenizer.toTokenizerJson() + JSON.stringify(tokenizer.summary);
    const key = `json:${(await sha256Hex(content)).slice(0, 24)}`;
    if (!this.byKey.has(key)) this.byKey.set(key, { tokenizer, label });
    return this.info(key);
  }

  /** GPT-2's is always known (loaded on first use, also in a fresh worker after a lost GPU). */
  async get(key: string): Promise<Tokenizer> {
    if (key === GPT2_TOKENIZER_KEY && !this.byKey.has(key))
      this.byKey.set(key, { tokenizer: await loadGpt2Tokenizer(), label: "GPT-2's tokenizer" });
    const entry = this.byKey.get(key);
    if (!entry) throw new EngineError('failed', `no tokenizer '${key}' in the worker (choose the tokenizer again)`);
    return entry.tokenizer;
  }

  info(key: string): TokenizerInfo {
    const entry = this.byKey.get(key);
    if (!entry) throw new EngineError('failed', `no tokenizer '${key}' in the worker`);
    const t = entry.tokenizer;
    return {
      key,
      kind: t.kind,
      vocabSize: t.vocabSize,
      eosTokenId: t.eosTokenId,
      label: entry.label,
      summary: t.summary,
    };
  }

  /** Tokens in one file, from the cache when it was seen with this tokenizer before. */
  async count(file: File, key: string, emit: (e: CountEvent) => void): Promise<{ tokens: number; cached: boolean }> {
    const tokenizer = await this.get(key);
    const source = sourceFromBlob(file);
    let last = 0;
    const options = {
      report: (_: unknown, done: number) => {
        // A chunk is 64 KiB: a few updates a second are enough for a progress bar.
        const now = performance.now();
        if (now - last > 100) {
          last = now;
          emit({ kind: 'bytes', done });
        }
      },
      onMessage: (m: FileMessage) => emit({ kind: 'warning', message: m.message }),
    };
    try {
      try {
        const { tokens, cached } = await documentTokens(source, tokenizer, this.cache, options);
        return { tokens: tokens.length, cached };
      } catch (e) {
        if (e instanceof DataFileError) throw e;
        // A full cache only costs a second tokenization at training time: count without it.
        const { tokens } = await documentTokens(source, tokenizer, null, options);
        return { tokens: tokens.length, cached: false };
      }
    } catch (e) {
      if (e instanceof DataFileError) throw new EngineError('refused', e.detail);
      throw e;
    }
  }
}
