// The page's Content-Security-Policy: the browser itself keeps the page, and every worker it starts, from loading
// anything but its own files and from connecting anywhere but its own origin and the Hugging Face Hub, or the one
// mirror of it that the user chose.
//
// A script the build puts first in <head> (`policyScript`) adds the policy as a meta tag, because the policy names
// the chosen mirror, which is known only when the page loads (it is kept in localStorage) and which no static file
// can name. A policy can be narrowed once the page runs, never widened, so choosing another mirror takes a reload.
// The alternatives were worse: `connect-src https: http:` (any mirror without a reload) would let any code in the
// page reach any host, and the Hub's own hosts alone would refuse every mirror. Workers are started from a blob: URL
// (src/core/util/module_worker.ts) because only such workers take the page's policy; a worker loaded from its own
// URL takes the policy of its own response, which a static host sends none of.
//
// What the page needs, directive by directive: scripts, styles, images and workers from itself (workers through a
// blob: that imports the real one), connections to itself (its files; the dev server's WebSocket, which 'self'
// matches) and to the Hub. WebGPU and IndexedDB need no directive. Vite's dev server injects <style> elements, so in
// development only styles may be inline. Nothing else: no eval, no plugins, no frames, no form posts, no <base>.

/** Where the page keeps the Hub mirror the user chose (its address as typed); the policy allows its origin. */
export const HUB_MIRROR_KEY = 'hearth.hubMirror';

/** The Hub and the hosts it redirects downloads to (LFS and Xet storage). */
const HUB_SOURCES = ['https://huggingface.co', 'https://*.huggingface.co', 'https://*.hf.co'];

/** Stands for the mirror's origin in the policy that `policyScript` completes. */
const MIRROR = '{mirror}';

/** The policy, with `{mirror}` where the chosen mirror's origin goes (the empty string when there is none). */
export function contentSecurityPolicy(options: { dev?: boolean } = {}): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self'${options.dev ? " 'unsafe-inline'" : ''}`,
    "img-src 'self' data: blob:",
    `connect-src 'self' ${HUB_SOURCES.join(' ')}${MIRROR}`,
    "worker-src 'self' blob:",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/**
 * The origin a policy may name for a Hub address: http or https, a plain host name or address and a port. Anything
 * else (another scheme, a user name, characters a policy would read as syntax) gives null. Self-contained: the
 * policy script carries its source.
 */
export function mirrorOrigin(address: string): string | null {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  return /^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/i.test(url.origin) ? url.origin : null;
}

/** Runs in the page before anything else: the policy as a meta tag, with the saved mirror's origin. */
function installPolicy(policy: string, key: string, mirror: string, originOf: (address: string) => string | null) {
  let origin: string | null = null;
  try {
    origin = originOf(localStorage.getItem(key) ?? '');
  } catch {
    // no localStorage (a sandbox, a privacy setting): no mirror
  }
  const meta = document.createElement('meta');
  meta.httpEquiv = 'Content-Security-Policy';
  meta.content = policy.replace(mirror, origin ? ` ${origin}` : '');
  meta.dataset.hubMirror = origin ?? '';
  document.head.prepend(meta);
}

/** The inline script that installs the policy; the build puts it first in <head>. */
export function policyScript(options: { dev?: boolean } = {}): string {
  const args = [JSON.stringify(contentSecurityPolicy(options)), JSON.stringify(HUB_MIRROR_KEY), JSON.stringify(MIRROR)];
  return `(${installPolicy.toString()})(${args.join(', ')}, ${mirrorOrigin.toString()});`;
}

/** The mirror origin the page's policy allows, '' for none; null when the page runs without the policy. */
export function allowedMirror(): string | null {
  const meta = document.querySelector<HTMLMetaElement>('meta[http-equiv="Content-Security-Policy"][data-hub-mirror]');
  return meta ? (meta.dataset.hubMirror ?? '') : null;
}
