// Node module hook: `import src from './x.wgsl?raw'` gives the file's text, as Vite does.
// Used by the CLI and the benchmarks, which run in plain Node (through tsx) rather than Vite.
import { readFile } from 'node:fs/promises';

export async function load(url, context, nextLoad) {
  const clean = url.split('?')[0];
  if (clean.endsWith('.wgsl')) {
    const text = await readFile(new URL(clean), 'utf8');
    return { format: 'module', shortCircuit: true, source: `export default ${JSON.stringify(text)};` };
  }
  return nextLoad(url, context);
}
