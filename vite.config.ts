import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { defineConfig, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { policyScript } from './src/ui/content_security_policy.ts';

export default defineConfig({
  // Relative URLs, so dist/ works from any folder of any static server (or a sub-path of one).
  base: './',
  plugins: [svelte({ compilerOptions: { runes: true } }), precacheServiceWorker(), contentSecurityPolicy()],
  worker: {
    // The trainer runs in a module worker (`new Worker(new URL(...), { type: 'module' })`).
    format: 'es',
  },
  build: {
    outDir: 'dist',
    // tfjs alone is close to a megabyte; the warning would fire on every build without telling us anything.
    chunkSizeWarningLimit: 2000,
    // On a busy two-core machine rolldown warns that plugins were slow on every build; that is the machine.
    rolldownOptions: { checks: { pluginTimings: false } },
  },
});

/**
 * Puts the script that installs the page's Content-Security-Policy (src/ui/content_security_policy.ts) where
 * index.html marks its place, right after the charset and before anything the policy governs, in the dev server's
 * page and in the build's.
 */
function contentSecurityPolicy(): Plugin {
  const PLACE = '<!-- content-security-policy -->';
  let dev = false;
  return {
    name: 'hearth-content-security-policy',
    configResolved(config) {
      dev = config.command === 'serve';
    },
    transformIndexHtml(html) {
      if (!html.includes(PLACE)) throw new Error(`index.html has no ${PLACE} for the Content-Security-Policy`);
      return html.replace(PLACE, () => `<script>${policyScript({ dev })}</script>`);
    },
  };
}

/**
 * Writes dist/sw.js: src/ui/offline/service_worker.js preceded by the list of every file the build wrote
 * (public/ included) and a cache name derived from their contents, so the page works offline once loaded
 * and a new build replaces the old cache.
 */
function precacheServiceWorker(): Plugin {
  let publicDir = '';
  return {
    name: 'hearth-precache-service-worker',
    apply: 'build',
    enforce: 'post',
    configResolved(config) {
      publicDir = config.publicDir;
    },
    generateBundle(_options, bundle) {
      const hash = createHash('sha256');
      const files = new Set<string>(['./', 'index.html']);
      for (const [fileName, item] of Object.entries(bundle)) {
        if (fileName.endsWith('.map')) continue;
        files.add(fileName);
        hash.update(fileName).update(item.type === 'chunk' ? item.code : item.source);
      }
      for (const file of listFiles(publicDir)) {
        files.add(file);
        hash.update(file).update(readFileSync(join(publicDir, file)));
      }
      const template = readFileSync(new URL('./src/ui/offline/service_worker.js', import.meta.url), 'utf8');
      const header =
        `const BUILD_FILES = ${JSON.stringify([...files].sort())};\n` +
        `const CACHE_NAME = ${JSON.stringify(`hearth-${hash.digest('hex').slice(0, 16)}`)};\n`;
      this.emitFile({ type: 'asset', fileName: 'sw.js', source: header + template });
    },
  };
}

function listFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  } catch {
    return [];
  }
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)).split('\\').join('/'));
}
