// esbuild plugins for bundling Hearth's Node entry points (the device kit, the tests' child processes) into single
// JavaScript files that plain Node runs without tsx.
import type { Plugin } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** `import text from './x.wgsl?raw'` gives the file's text, as Vite does. */
export const rawText: Plugin = {
  name: 'raw-text',
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, (a) => ({ path: join(a.resolveDir, a.path.slice(0, -4)), namespace: 'raw' }));
    b.onLoad({ filter: /.*/, namespace: 'raw' }, (a) => ({ contents: readFileSync(a.path, 'utf8'), loader: 'text' }));
  },
};

/** bin/hearth.js registers tsx for the TypeScript sources; a bundle is JavaScript already and needs no loader. */
export const noSourceLoader: Plugin = {
  name: 'no-source-loader',
  setup(b) {
    b.onResolve({ filter: /node_register\.mjs$/ }, () => ({ path: 'node_register', namespace: 'empty' }));
    b.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: '', loader: 'js' }));
  },
};

/** CommonJS dependencies call require() for Node's own modules; an ES module bundle has none of its own. */
export const REQUIRE_BANNER =
  "import { createRequire as hearthRequire } from 'node:module'; const require = hearthRequire(import.meta.url);";
