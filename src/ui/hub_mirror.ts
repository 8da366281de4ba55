// Which Hub address the page may download from. Its Content-Security-Policy (content_security_policy.ts) allows the
// Hugging Face Hub and the one mirror saved here when the page loaded; another mirror takes a reload, after which the
// download the user asked for goes on by itself.
import { HUB_BASE_URL } from '../core/checkpoint/hub.ts';
import { allowedMirror, HUB_MIRROR_KEY, mirrorOrigin } from './content_security_policy.ts';

const PENDING_DOWNLOAD_KEY = 'hearth.pendingHubDownload';

/** Where the page keeps a Hub token for pushes, only when the user asks it to remember one. */
export const HUB_TOKEN_KEY = 'hearth.hubToken';

export interface HubRequest {
  repo: string;
  endpoint: string;
}

export type MirrorAccess =
  | { kind: 'allowed' }
  /** the policy allows it once the page reloads with it saved */
  | { kind: 'reload'; origin: string }
  | { kind: 'invalid'; message: string };

/** The mirror chosen on an earlier visit, as it was typed; null when there is none. */
export function savedMirror(): string | null {
  try {
    return localStorage.getItem(HUB_MIRROR_KEY);
  } catch {
    return null;
  }
}

/** Whether this page may download from `endpoint` (the Hub's own address, or '' for it, always). */
export function mirrorAccess(endpoint: string): MirrorAccess {
  if (endpoint === '' || endpoint === HUB_BASE_URL) return { kind: 'allowed' };
  const origin = mirrorOrigin(endpoint);
  if (!origin)
    return { kind: 'invalid', message: `the Hub address "${endpoint}" is not an http or https address of a host` };
  if (origin === new URL(HUB_BASE_URL).origin) return { kind: 'allowed' };
  const allowed = allowedMirror();
  return allowed === null || allowed === origin ? { kind: 'allowed' } : { kind: 'reload', origin };
}

/** Keeps the mirror (the next page's policy allows it) and the download (it continues there), then reloads. */
export function reloadForMirror(request: HubRequest): void {
  try {
    localStorage.setItem(HUB_MIRROR_KEY, request.endpoint);
    sessionStorage.setItem(PENDING_DOWNLOAD_KEY, JSON.stringify(request));
  } catch {
    // storage off: the reload cannot carry the mirror, and the page will say so again
  }
  location.reload();
}

/** The download that a reload for its mirror left to continue; given once. */
export function takePendingDownload(): HubRequest | null {
  try {
    const saved = sessionStorage.getItem(PENDING_DOWNLOAD_KEY);
    sessionStorage.removeItem(PENDING_DOWNLOAD_KEY);
    const request = saved ? (JSON.parse(saved) as Partial<HubRequest>) : null;
    return typeof request?.repo === 'string' && typeof request.endpoint === 'string'
      ? { repo: request.repo, endpoint: request.endpoint }
      : null;
  } catch {
    return null;
  }
}
