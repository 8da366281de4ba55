// The page's side of the engine worker: one async method per request kind, events through a callback, a
// signal to cancel, and a fresh worker (so a fresh GPU device) after the device was lost.
import { type ErrorCode, type ReplyMessage, type RequestKind, type RequestMessage, type Requests } from './protocol.ts';
import engineWorkerUrl from './worker.ts?worker&url';
import { startModuleWorker } from '../core/util/module_worker.ts';

export * from './protocol.ts';

/** A request's failure as the worker reported it; `code` says what kind of failure. */
export class RequestError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: RequestError) => void;
  onEvent?: (event: unknown) => void;
}

export interface CallOptions<E> {
  onEvent?: (event: E) => void;
  signal?: AbortSignal;
}

export class EngineClient {
  private worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly lostListeners = new Set<(message: string) => void>();

  constructor(private readonly create: () => Worker = defaultWorker) {
    this.worker = this.start();
  }

  /** Runs `listener` when the worker reports that the GPU device is gone. */
  onDeviceLost(listener: (message: string) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  call<K extends Exclude<RequestKind, 'cancel'>>(
    kind: K,
    payload: Requests[K]['payload'],
    options: CallOptions<Requests[K]['event']> = {},
  ): Promise<Requests[K]['result']> {
    const id = this.nextId++;
    const { signal, onEvent } = options;
    if (signal?.aborted) return Promise.reject(new RequestError('cancelled', `${kind} was cancelled`));
    return new Promise<Requests[K]['result']>((resolve, reject) => {
      const onAbort = () => this.send({ kind: 'cancel', id: this.nextId++, payload: { target: id } });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve: (v) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(v as Requests[K]['result']);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
        onEvent: onEvent as ((e: unknown) => void) | undefined,
      });
      this.send({ kind, id, payload } as RequestMessage);
    });
  }

  /** Ends the worker and starts a fresh one: what a lost device needs (the old one is gone for good). */
  restart(): void {
    this.worker.terminate();
    this.failAll('device-lost', 'the engine was restarted');
    this.worker = this.start();
  }

  dispose(): void {
    this.worker.terminate();
    this.failAll('cancelled', 'the engine was closed');
  }

  private start(): Worker {
    const worker = this.create();
    worker.onmessage = (event: MessageEvent<ReplyMessage>) => this.receive(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      this.failAll('failed', `the engine worker failed: ${event.message || 'it could not start'}`);
    };
    return worker;
  }

  private send(message: RequestMessage): void {
    this.worker.postMessage(message);
  }

  private receive(message: ReplyMessage): void {
    if (message.kind === 'deviceLost') {
      // Reads from a lost device never come back: nothing pending will be answered.
      this.failAll('device-lost', `the GPU device was lost (${message.payload.message})`);
      for (const listener of this.lostListeners) listener(message.payload.message);
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    if (message.kind === 'event') {
      pending.onEvent?.(message.payload);
      return;
    }
    this.pending.delete(message.id);
    if (message.kind === 'result') pending.resolve(message.payload);
    else pending.reject(new RequestError(message.payload.code, message.payload.message));
  }

  private failAll(code: ErrorCode, message: string): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(new RequestError(code, message));
  }
}

function defaultWorker(): Worker {
  return startModuleWorker(engineWorkerUrl, { name: 'hearth-engine' });
}
