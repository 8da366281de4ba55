// What the page knows about the GPU: checking, ready (with the adapter's name and features), absent, or lost.
// The device lives in the engine worker; the page only asks it (and first checks that navigator.gpu exists at
// all, which needs no worker).
import type { EngineClient, GpuSummary } from '../../worker/client.ts';
import { RequestError } from '../../worker/client.ts';

export type GpuStatus =
  | ({ kind: 'ready' } & GpuSummary)
  | { kind: 'checking' }
  | { kind: 'unavailable'; detail: string }
  | { kind: 'lost'; detail: string }
  | { kind: 'failed'; detail: string };

export class GpuState {
  status = $state<GpuStatus>({ kind: 'checking' });
  ready = $derived(this.status.kind === 'ready');

  readonly #client: EngineClient;

  constructor(client: EngineClient) {
    this.#client = client;
    client.onDeviceLost((detail) => (this.status = { kind: 'lost', detail }));
  }

  async check(): Promise<void> {
    this.status = { kind: 'checking' };
    if (!('gpu' in navigator) || !navigator.gpu) {
      this.status = { kind: 'unavailable', detail: 'this browser has no navigator.gpu' };
      return;
    }
    try {
      this.status = { kind: 'ready', ...(await this.#client.call('init', {})) };
    } catch (e) {
      const code = e instanceof RequestError ? e.code : 'failed';
      const detail = e instanceof Error ? e.message : String(e);
      this.status =
        code === 'no-webgpu'
          ? { kind: 'unavailable', detail }
          : { kind: code === 'device-lost' ? 'lost' : 'failed', detail };
    }
  }
}
