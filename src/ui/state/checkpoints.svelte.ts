// Saved checkpoints as the page lists them, and how much of the browser's storage they use. The checkpoint
// store (IndexedDB, in the checkpoint module) fills `entries`; storage figures come from the browser.

export interface CheckpointEntry {
  id: string;
  name: string;
  step: number;
  eval_loss: number | null;
  bytes: number;
  saved: Date;
}

export class CheckpointList {
  entries = $state.raw<CheckpointEntry[]>([]);
  /** bytes this site uses and may use, as the browser estimates them; null where it will not say */
  storage = $state<{ usage: number; quota: number } | null>(null);

  async refreshStorage(): Promise<void> {
    const estimate = await navigator.storage?.estimate?.().catch(() => null);
    this.storage = estimate?.quota ? { usage: estimate.usage ?? 0, quota: estimate.quota } : null;
  }
}
