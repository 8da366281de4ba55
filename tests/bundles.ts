// The scripts the Node tests run as child processes (`hearth`, the kill tests' checkpoint writer), bundled once per
// test run into single JavaScript files that plain Node starts without tsx: a child then starts in well under a second
// instead of two or three. The dependencies stay in node_modules (the bundles live under it, so Node finds them),
// loaded as `node bin/hearth.js` loads them; tests/model/cli.test.ts runs bin/hearth.js itself too.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { noSourceLoader, rawText, REQUIRE_BANNER } from '../scripts/esbuild_plugins.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const DIR = join(root, 'node_modules', '.cache', 'hearth-test-bundles');
const ENTRIES = {
  hearth: join(root, 'bin/hearth.js'),
  checkpoint_writer: join(root, 'tests/model/checkpoint_writer.ts'),
};

/** A bundled script's path (built by bundleTestScripts, the test run's global set-up). */
export const bundledScript = (name: keyof typeof ENTRIES): string => join(DIR, `${name}.mjs`);

export async function bundleTestScripts(): Promise<void> {
  mkdirSync(DIR, { recursive: true });
  await build({
    entryPoints: ENTRIES,
    outdir: DIR,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    plugins: [rawText, noSourceLoader],
    banner: { js: REQUIRE_BANNER },
    logLevel: 'warning',
  });
}
