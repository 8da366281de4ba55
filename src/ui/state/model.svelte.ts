// The model the run will train, from one of three places: a new model from a preset (its vocabulary from the
// chosen tokenizer), a GPT-2 from the Hugging Face Hub (downloaded by the worker with progress, cancellable),
// or a checkpoint in this browser (fine-tuned, or resumed exactly when it holds its training state).
import { DEFAULT_DROPOUT, GPT2_VOCAB_SIZE } from '../../core/model/families/gpt2_config.ts';
import { PRESETS, presetDims } from '../../core/model/presets.ts';
import type { ModelDims } from '../../core/model/families/index.ts';
import { HUB_BASE_URL, type HubProgress } from '../../core/checkpoint/hub.ts';
import type { EngineClient, ModelInfo, TokenizerInfo } from '../../worker/client.ts';
import { mirrorAccess, reloadForMirror, savedMirror } from '../hub_mirror.ts';

export type ModelSourceKind = 'preset' | 'hub' | 'checkpoint';

export type LoadState =
  | { kind: 'idle' }
  | { kind: 'loading'; progress: HubProgress | null }
  | { kind: 'ready'; info: ModelInfo }
  | { kind: 'failed'; message: string }
  /** the page's security policy allows this mirror only after a reload */
  | { kind: 'reload'; origin: string };

export class ModelChoice {
  source = $state<ModelSourceKind>('preset');
  presetId = $state('tiny');
  /** a new model's embd_pdrop, attn_pdrop and resid_pdrop (HF's GPT2Config default); the field may hold anything */
  dropout = $state<number | null | undefined>(DEFAULT_DROPOUT);
  /** the dropout field's value when it is a probability in [0, 1), else null */
  dropoutRate: number | null = $derived(
    typeof this.dropout === 'number' && this.dropout >= 0 && this.dropout < 1 ? this.dropout : null,
  );
  hubRepo = $state('gpt2');
  /** the Hub or a mirror of it (same URL layout); the mirror chosen on an earlier visit, if any */
  hubEndpoint = $state(savedMirror() ?? HUB_BASE_URL);
  hub = $state.raw<LoadState>({ kind: 'idle' });
  checkpointId = $state<string | null>(null);
  checkpoint = $state.raw<LoadState>({ kind: 'idle' });
  /** a resumable checkpoint: continue its run exactly (true) or fine-tune its weights in a new run */
  resume = $state(true);

  preset = $derived(PRESETS.find((p) => p.id === this.presetId) ?? PRESETS[0]);
  /** the loaded Hub model or checkpoint, when that is the source */
  loaded: ModelInfo | null = $derived.by(() => {
    const state = this.source === 'hub' ? this.hub : this.source === 'checkpoint' ? this.checkpoint : null;
    return state?.kind === 'ready' ? state.info : null;
  });
  /** the tokenizer the files are counted with and the model will read */
  tokenizer: TokenizerInfo | null = $derived.by(() =>
    this.source === 'preset' ? this.#newTokenizer() : (this.loaded?.tokenizer ?? null),
  );
  /** the model's shape; null until a Hub model or checkpoint is loaded */
  dims: ModelDims | null = $derived.by(() => {
    if (this.source !== 'preset') return this.loaded?.dims ?? null;
    // Until the tokenizer is ready, GPT-2's vocabulary stands in for the sizes shown.
    const d = this.dropoutRate ?? DEFAULT_DROPOUT;
    return {
      ...presetDims(this.preset.id, this.#newTokenizer()?.vocabSize ?? GPT2_VOCAB_SIZE),
      embd_pdrop: d,
      attn_pdrop: d,
      resid_pdrop: d,
    };
  });
  resuming = $derived(this.source === 'checkpoint' && this.resume && (this.loaded?.resumable ?? false));
  label = $derived(this.source === 'preset' ? `new ${this.preset.label}` : (this.loaded?.label ?? null));

  readonly #client: EngineClient;
  readonly #newTokenizer: () => TokenizerInfo | null;
  #download: AbortController | null = null;
  #checkpointRequest = 0;

  constructor(client: EngineClient, newTokenizer: () => TokenizerInfo | null) {
    this.#client = client;
    this.#newTokenizer = newTokenizer;
  }

  async downloadFromHub(): Promise<void> {
    this.#download?.abort();
    const endpoint = this.hubEndpoint.trim().replace(/\/+$/, '');
    const access = mirrorAccess(endpoint);
    if (access.kind !== 'allowed') {
      this.#download = null;
      this.hub = access.kind === 'reload' ? access : { kind: 'failed', message: access.message };
      return;
    }
    const controller = new AbortController();
    this.#download = controller;
    this.hub = { kind: 'loading', progress: null };
    try {
      const info = await this.#client.call(
        'loadModel',
        {
          source: {
            kind: 'hub',
            repo: this.hubRepo.trim(),
            endpoint: endpoint && endpoint !== HUB_BASE_URL ? endpoint : undefined,
          },
        },
        { signal: controller.signal, onEvent: (progress) => (this.hub = { kind: 'loading', progress }) },
      );
      if (this.#download === controller) this.hub = { kind: 'ready', info };
    } catch (e) {
      if (this.#download !== controller) return;
      this.hub = controller.signal.aborted
        ? { kind: 'idle' }
        : { kind: 'failed', message: e instanceof Error ? e.message : String(e) };
    } finally {
      if (this.#download === controller) this.#download = null;
    }
  }

  cancelDownload(): void {
    this.#download?.abort();
  }

  /** Reloads the page with the mirror allowed; the download then starts by itself. */
  reloadToDownload(): void {
    reloadForMirror({ repo: this.hubRepo.trim(), endpoint: this.hubEndpoint.trim().replace(/\/+$/, '') });
  }

  /** Loads a stored checkpoint into the worker (so it can also generate at once). */
  async chooseCheckpoint(id: string | null): Promise<void> {
    this.checkpointId = id;
    const request = ++this.#checkpointRequest;
    if (id === null) {
      this.checkpoint = { kind: 'idle' };
      return;
    }
    this.checkpoint = { kind: 'loading', progress: null };
    try {
      const info = await this.#client.call('loadModel', { source: { kind: 'checkpoint', id } });
      if (request === this.#checkpointRequest) this.checkpoint = { kind: 'ready', info };
    } catch (e) {
      if (request === this.#checkpointRequest)
        this.checkpoint = { kind: 'failed', message: e instanceof Error ? e.message : String(e) };
    }
  }
}
