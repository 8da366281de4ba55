// A local server that takes uploads as the Hub's HTTP API does, for push tests (no test reaches the internet):
// POST /api/repos/create (409 when the repo exists), POST /api/models/REPO/preupload/REV (large files and binary
// files go by LFS), POST /REPO.git/info/lfs/objects/batch (an upload action for each object not yet stored),
// PUT /lfs/OID (checked against its SHA-256), POST /api/models/REPO/commit/REV (NDJSON: applied whole or not at all).
// It answers pages of any origin, as the Hub does (CORS), so the page can push to it.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HubRepo {
  private: boolean;
  /** the files of the last commit */
  files: Map<string, Uint8Array>;
  commits: string[];
}

export interface UploadHub {
  url: string;
  repos: Map<string, HubRepo>;
  /** the token that may write; every other token is refused */
  token: string;
  /** break this many LFS uploads after their first bytes (a network drop) */
  dropUploads: number;
  requests: string[];
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'authorization, content-type, accept, x-request-id',
  'access-control-allow-methods': 'GET, POST, PUT',
  'access-control-expose-headers': 'etag, x-request-id',
};

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', ...CORS });
  res.end(JSON.stringify(value));
}

export async function startUploadHub(token = 'hf_writer'): Promise<UploadHub> {
  const lfs = new Map<string, Uint8Array>();
  const hub: UploadHub = {
    url: '',
    repos: new Map(),
    token,
    dropUploads: 0,
    requests: [],
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url!, 'http://x');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, CORS);
      return res.end();
    }
    hub.requests.push(`${req.method} ${url.pathname}`);
    if (url.pathname.startsWith('/lfs/') && req.method === 'PUT') {
      const oid = url.pathname.slice(5);
      if (hub.dropUploads > 0) {
        hub.dropUploads--;
        req.once('data', () => req.socket.destroy()); // the connection drops mid-upload
        return;
      }
      const bytes = await body(req);
      if (createHash('sha256').update(bytes).digest('hex') !== oid) return json(res, 400, { error: 'wrong sha256' });
      lfs.set(oid, new Uint8Array(bytes));
      res.writeHead(200, CORS);
      return res.end();
    }
    if (req.headers.authorization !== `Bearer ${hub.token}`)
      return json(res, 401, { error: 'Invalid credentials in Authorization header' });
    if (url.pathname === '/api/repos/create' && req.method === 'POST') {
      const b = JSON.parse((await body(req)).toString());
      const name = `${b.organization}/${b.name}`;
      if (hub.repos.has(name)) return json(res, 409, { error: 'You already created this model repo', url: name });
      hub.repos.set(name, { private: b.visibility === 'private', files: new Map(), commits: [] });
      return json(res, 200, { url: `${hub.url}/${name}`, id: name });
    }
    let m = /^\/api\/models\/(.+)\/(preupload|commit)\/([^/]+)$/.exec(url.pathname);
    const repo = m ? hub.repos.get(m[1]) : undefined;
    if (m && !repo) return json(res, 404, { error: 'Repository not found' });
    if (m?.[2] === 'preupload') {
      const b = JSON.parse((await body(req)).toString());
      return json(res, 200, {
        files: b.files.map((f: { path: string; size: number }) => ({
          path: f.path,
          uploadMode: f.size > 1024 || /\.(safetensors|png)$/.test(f.path) ? 'lfs' : 'regular',
        })),
      });
    }
    if (m?.[2] === 'commit') {
      const lines = (await body(req))
        .toString()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      const next = new Map(repo!.files);
      for (const { key, value } of lines) {
        if (key === 'file') next.set(value.path, new Uint8Array(Buffer.from(value.content, 'base64')));
        else if (key === 'lfsFile') {
          const bytes = lfs.get(value.oid);
          if (!bytes) return json(res, 422, { error: `LFS object ${value.oid} was never uploaded` });
          next.set(value.path, bytes);
        }
      }
      repo!.files = next;
      const oid = createHash('sha1').update(`${repo!.commits.length}${m[1]}`).digest('hex');
      repo!.commits.push(lines[0].value.summary);
      return json(res, 200, { commitOid: oid, commitUrl: `${hub.url}/${m[1]}/commit/${oid}` });
    }
    m = /^\/(.+)\.git\/info\/lfs\/objects\/batch$/.exec(url.pathname);
    if (m && req.method === 'POST') {
      if (!hub.repos.has(m[1])) return json(res, 404, { error: 'Repository not found' });
      const b = JSON.parse((await body(req)).toString());
      return json(res, 200, {
        transfer: 'basic',
        objects: b.objects.map((o: { oid: string; size: number }) => ({
          oid: o.oid,
          size: o.size,
          ...(lfs.has(o.oid) ? {} : { actions: { upload: { href: `${hub.url}/lfs/${o.oid}` } } }),
        })),
      });
    }
    json(res, 404, { error: `no route ${req.method} ${url.pathname}` });
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e) => json(res, 500, { error: String(e) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return hub;
}
