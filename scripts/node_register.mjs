// Lets plain Node run Hearth's TypeScript sources: .ts through tsx, .wgsl?raw through our hook.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

register('./wgsl_hook.mjs', import.meta.url);
registerTsx();
