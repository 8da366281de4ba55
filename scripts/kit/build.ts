// `npm run kit [-- --out DIR]`: builds the device kit (default kit/), a folder that runs Hearth's bench and a short
// `hearth train` on a bare x86-64 Linux machine with a GPU driver and nothing else: no Node, no npm, no network.
// It holds the bench, the CLI and the kit's driver bundled into single JavaScript files (the WGSL inlined), Dawn's
// dawn.node for linux-x64, the Node binary running this build, Debian's Vulkan loader with the few libraries NVIDIA's
// Vulkan driver links against (for images that lack them), and run.sh. Large files are gzipped (gzip is Essential
// on Debian and Ubuntu); run.sh unpacks them into a temporary folder. See README, "The device kit".
import { build, type Plugin } from 'esbuild';
import { noSourceLoader, rawText, REQUIRE_BANNER } from '../esbuild_plugins.ts';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { writeJsonFile } from '../../bench/report.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** The device takes 64 MiB of files with the repository's own; the kit keeps under this. */
const MAX_KIT_BYTES = 60 * 2 ** 20;
/**
 * Debian packages unpacked into kit/lib: the Vulkan loader, and what NVIDIA's Vulkan driver (inside libGLX_nvidia
 * or libEGL_nvidia) links against: libGLdispatch (glvnd), and for the GLX one the X client libraries.
 */
const DEBS = ['libvulkan1', 'libglvnd0', 'libx11-6', 'libxext6', 'libxcb1', 'libxau6', 'libxdmcp6', 'libbsd0', 'libmd0'];

/**
 * The bench and the CLI, each behind an entry that first registers tfjs's gradients from tfjs-core's ESM module (plain
 * Node loads them from the union package instead, which the kit does not carry: see src/core/gpu/tf.ts).
 */
const withGradients: Plugin = {
  name: 'with-gradients',
  setup(b) {
    b.onResolve({ filter: /^with-gradients:/ }, (a) => ({ path: a.path.slice('with-gradients:'.length), namespace: 'entry' }));
    b.onLoad({ filter: /.*/, namespace: 'entry' }, (a) => ({
      contents: `import '@tensorflow/tfjs-core/dist/register_all_gradients';\nimport ${JSON.stringify(a.path)};\n`,
      resolveDir: root,
      loader: 'js',
    }));
  },
};

async function gzip(from: string, to: string): Promise<void> {
  await pipeline(createReadStream(from), createGzip({ level: 6 }), createWriteStream(to));
}

function run(command: string, args: string[], cwd: string): void {
  const r = spawnSync(command, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error || r.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}: ${r.error?.message ?? `exit code ${r.status}`}`);
}

/** The .deb of each package in DEBS, downloaded once into `cache` with `apt-get download`. */
function debs(cache: string): string[] {
  mkdirSync(cache, { recursive: true });
  const find = (pkg: string) => readdirSync(cache).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  const missing = DEBS.filter((pkg) => !find(pkg));
  if (missing.length) {
    console.log(`apt-get download ${missing.join(' ')}`);
    run('apt-get', ['download', ...missing], cache);
  }
  return DEBS.map((pkg) => join(cache, find(pkg)!));
}

/** Unpacks each .deb with dpkg -x and copies its shared libraries (under their sonames) and copyright files. */
function unpackLibraries(packages: string[], kit: string): void {
  const scratch = mkdtempSync(join(tmpdir(), 'hearth-kit-debs-'));
  try {
    mkdirSync(join(kit, 'lib', 'copyright'), { recursive: true });
    for (const deb of packages) {
      const into = join(scratch, basename(deb));
      run('dpkg', ['-x', deb, into], scratch);
      const libDir = join(into, 'usr/lib/x86_64-linux-gnu');
      for (const name of readdirSync(libDir)) {
        if (/^lib.+\.so\.\d+$/.test(name)) copyFileSync(join(libDir, name), join(kit, 'lib', name));
      }
      const pkg = basename(deb).split('_')[0];
      const copyright = join(into, 'usr/share/doc', pkg, 'copyright');
      if (existsSync(copyright)) copyFileSync(copyright, join(kit, 'lib', 'copyright', pkg));
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function bundle(kit: string): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'hearth-kit-js-'));
  try {
    await build({
      entryPoints: {
        bench: `with-gradients:${join(root, 'bench/index.ts')}`,
        hearth: `with-gradients:${join(root, 'bin/hearth.js')}`,
        driver: join(root, 'scripts/kit/driver.ts'),
      },
      outdir: scratch,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // ES modules first, so that tfjs-core is one copy: its ESM build, which the gradients module above imports.
      mainFields: ['module', 'main'],
      // Identifiers stay, so that a stack trace from the device can be read.
      minifyWhitespace: true,
      minifySyntax: true,
      // Dawn is loaded from the folder run.sh unpacks it into, never bundled.
      external: ['webgpu'],
      plugins: [withGradients, rawText, noSourceLoader],
      banner: { js: REQUIRE_BANNER },
      logLevel: 'warning',
    });
    mkdirSync(join(kit, 'js'));
    for (const name of ['bench', 'hearth', 'driver']) await gzip(join(scratch, `${name}.mjs`), join(kit, 'js', `${name}.mjs.gz`));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

function gitCommit(): string | null {
  const r = spawnSync('git', ['describe', '--always', '--dirty'], { cwd: root, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  const kit = outAt >= 0 && args[outAt + 1] ? args[outAt + 1] : join(root, 'kit');
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error(`the kit carries this machine's Node for linux-x64; this is ${process.platform}-${process.arch}`);
  const dawn = join(root, 'node_modules/webgpu/dist/linux-x64/dawn.node');
  if (!existsSync(dawn)) throw new Error(`no ${relative(root, dawn)}: run npm ci first`);
  const started = Date.now();

  rmSync(kit, { recursive: true, force: true });
  mkdirSync(join(kit, 'webgpu'), { recursive: true });
  await bundle(kit);
  await gzip(process.execPath, join(kit, 'node.gz'));
  await gzip(dawn, join(kit, 'webgpu', 'dawn.node.gz'));
  for (const name of ['index.js', 'package.json', 'LICENSE.md'])
    copyFileSync(join(root, 'node_modules/webgpu', name), join(kit, 'webgpu', name));
  const packages = debs(join(root, 'node_modules/.cache/hearth-kit'));
  unpackLibraries(packages, kit);
  copyFileSync(join(root, 'scripts/kit/run.sh'), join(kit, 'run.sh'));
  chmodSync(join(kit, 'run.sh'), 0o755);

  const files = filesUnder(kit).map((f) => ({ path: relative(kit, f), bytes: statSync(f).size }));
  const total = files.reduce((n, f) => n + f.bytes, 0);
  const webgpu = JSON.parse(readFileSync(join(root, 'node_modules/webgpu/package.json'), 'utf8')) as { version: string };
  writeJsonFile(join(kit, 'manifest.json'), {
    built: new Date().toISOString(),
    commit: gitCommit(),
    node: process.version,
    webgpu: webgpu.version,
    debs: packages.map((p) => basename(p)),
    bytes: total,
  });
  if (total > MAX_KIT_BYTES)
    throw new Error(`the kit is ${(total / 2 ** 20).toFixed(1)} MiB, over its ${MAX_KIT_BYTES / 2 ** 20} MiB`);
  for (const f of files.filter((f) => f.bytes > 2 ** 20))
    console.log(`  ${f.path.padEnd(28)} ${(f.bytes / 2 ** 20).toFixed(1).padStart(5)} MiB`);
  console.log(
    `kit: ${kit}, ${(total / 2 ** 20).toFixed(1)} MiB in ${files.length} files, built in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
}

main().catch((e) => {
  console.error(`npm run kit: ${(e as Error).message}`);
  process.exit(1);
});
