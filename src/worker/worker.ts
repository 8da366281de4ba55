// The engine worker's entry: the page starts it as a module worker (under the page's Content-Security-Policy;
// see client.ts) and talks to it in the messages of protocol.ts. Everything that touches the GPU runs here, so the
// page stays responsive.
import { Engine } from './engine.ts';
import type { RequestMessage } from './protocol.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const engine = new Engine((message) => scope.postMessage(message));
scope.onmessage = (event: MessageEvent<RequestMessage>) => engine.handle(event.data);
