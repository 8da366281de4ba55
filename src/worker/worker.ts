// The engine worker's entry: the page creates it with
// `new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' })` (see client.ts) and talks to it in
// the messages of protocol.ts. Everything that touches the GPU runs here, so the page stays responsive.
import { Engine } from './engine.ts';
import type { RequestMessage } from './protocol.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const engine = new Engine((message) => scope.postMessage(message));
scope.onmessage = (event: MessageEvent<RequestMessage>) => engine.handle(event.data);
