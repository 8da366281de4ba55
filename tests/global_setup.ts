// Once before the Node tests: the scripts they run as child processes, bundled (tests/bundles.ts).
import { bundleTestScripts } from './bundles.ts';

export default async function setup(): Promise<void> {
  await bundleTestScripts();
}
