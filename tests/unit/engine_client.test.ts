// The page's client of the engine worker, over a fake worker: answers and events reach the right call, errors
// keep their code, an abort becomes a cancel request, and a lost device fails every pending call.
import { describe, expect, it } from 'vitest';
import { EngineClient, RequestError, type ReplyMessage, type RequestMessage } from '../../src/worker/client.ts';

class FakeWorker {
  sent: RequestMessage[] = [];
  terminated = false;
  onmessage: ((e: MessageEvent<ReplyMessage>) => void) | null = null;
  onerror: ((e: ErrorEvent) => void) | null = null;
  postMessage(m: RequestMessage): void {
    this.sent.push(m);
  }
  terminate(): void {
    this.terminated = true;
  }
  reply(m: ReplyMessage): void {
    this.onmessage?.({ data: m } as MessageEvent<ReplyMessage>);
  }
}

function setup() {
  const workers: FakeWorker[] = [];
  const client = new EngineClient(() => {
    const w = new FakeWorker();
    workers.push(w);
    return w as unknown as Worker;
  });
  return { client, workers, worker: () => workers.at(-1)! };
}

describe('EngineClient', () => {
  it('resolves each call with its own result and passes its events on', async () => {
    const { client, worker } = setup();
    const events: unknown[] = [];
    const counting = client.call(
      'countTokens',
      { file: new File(['x'], 'a.txt'), tokenizer: 'gpt2' },
      { onEvent: (e) => events.push(e) },
    );
    const init = client.call('init', {});
    const [count, gpu] = worker().sent;
    expect(count).toMatchObject({ kind: 'countTokens', payload: { tokenizer: 'gpt2' } });
    worker().reply({ kind: 'event', id: count.id, payload: { kind: 'bytes', done: 1 } });
    worker().reply({ kind: 'result', id: gpu.id, payload: { name: 'gpu' } });
    worker().reply({ kind: 'result', id: count.id, payload: { tokens: 1, cached: false } });
    expect(await init).toEqual({ name: 'gpu' });
    expect(await counting).toEqual({ tokens: 1, cached: false });
    expect(events).toEqual([{ kind: 'bytes', done: 1 }]);
  });

  it('rejects with the code the worker gave', async () => {
    const { client, worker } = setup();
    const train = client.call('evaluate', {});
    worker().reply({
      kind: 'error',
      id: worker().sent[0].id,
      payload: { code: 'no-model', message: 'train a model first' },
    });
    await expect(train).rejects.toMatchObject({
      name: 'RequestError',
      code: 'no-model',
      message: 'train a model first',
    });
  });

  it('turns an abort into a cancel request for that call', async () => {
    const { client, worker } = setup();
    const controller = new AbortController();
    const generation = client.call('generate', { prompt: 'a', options: {} }, { signal: controller.signal });
    controller.abort();
    const [request, cancel] = worker().sent;
    expect(cancel).toMatchObject({ kind: 'cancel', payload: { target: request.id } });
    worker().reply({ kind: 'error', id: request.id, payload: { code: 'cancelled', message: 'cancelled' } });
    await expect(generation).rejects.toBeInstanceOf(RequestError);
  });

  it('fails every pending call when the device is lost, tells the listeners, and restarts on a fresh worker', async () => {
    const { client, workers, worker } = setup();
    const lost: string[] = [];
    client.onDeviceLost((m) => lost.push(m));
    const train = client.call('control', { action: 'pause' });
    worker().reply({ kind: 'deviceLost', id: 0, payload: { message: 'Device was destroyed.' } });
    await expect(train).rejects.toMatchObject({ code: 'device-lost' });
    expect(lost).toEqual(['Device was destroyed.']);
    client.restart();
    expect(workers).toHaveLength(2);
    expect(workers[0].terminated).toBe(true);
    const init = client.call('init', {});
    worker().reply({ kind: 'result', id: worker().sent[0].id, payload: { name: 'fresh' } });
    expect(await init).toEqual({ name: 'fresh' });
  });
});
