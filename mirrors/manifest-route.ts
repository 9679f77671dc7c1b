// `GET /_mirror/manifest`: this mirror's copy as a manifest
// (common/feed-format.ts) for `mirror verify --peer`: unsigned (a mirror
// holds no signing key), so a verifier only reports differences against it.
// Streamed from keyset reads of the index, paced by the client.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { manifestPageLine } from '../common/feed-format';
import type { MirrorStore } from './mirror-store';

export function serveManifest(req: IncomingMessage, res: ServerResponse, store: MirrorStore): void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const { epoch, cursor } = store.state();
  const pages = store.pages();
  let count = 0;
  res.write(`${JSON.stringify({ type: 'head', epoch, cursor })}\n`);
  const pump = (): void => {
    for (;;) {
      if (res.destroyed) {
        pages.return(undefined);
        return;
      }
      const next = pages.next();
      if (next.done) {
        res.end(`${JSON.stringify({ type: 'end', count, sig: '' })}\n`);
        return;
      }
      const p = next.value;
      count += 1;
      if (!res.write(manifestPageLine(p))) {
        res.once('drain', pump);
        return;
      }
    }
  };
  res.on('close', () => pages.return(undefined));
  pump();
}
