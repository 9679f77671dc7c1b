// Serves blobs by hash (`/blobs/SHA`), so peer mirrors can fill from this one
// (blob-fetcher.ts); Ranges let a peer resume a large download it lost midway.
// Like a page, every answer names the journal position it reflects: a cache
// that evicted a blob a takedown purged asks only mirrors that applied it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { POSITION_HEADER } from '../common/feed-format';
import { SHA256_HEX } from '../common/hash';
import { sendNotFound, type FileSender } from './file-responses';
import { etagOf, notModified } from '../common/http-conditional';
import type { MirrorStore } from './mirror-store';
import { blobHeaders } from './page-headers';

export function serveBlob(
  req: IncomingMessage,
  res: ServerResponse,
  sha256: string,
  deps: { store: MirrorStore; files: FileSender },
): void {
  const { store, files } = deps;
  res.setHeader(POSITION_HEADER, String(store.servedPosition()));
  // A purged blob is gone even if a stale file is still on disk (purged-blobs.ts).
  if (!SHA256_HEX.test(sha256) || !store.hasBlob(sha256) || store.isPurged(sha256)) {
    sendNotFound(res);
    return;
  }
  const etag = etagOf(sha256);
  // Content-addressed and immutable: a client holding the tag holds the current bytes.
  if (notModified(req.headers, { etag })) {
    res.writeHead(304, { etag });
    res.end();
    return;
  }
  files.sendRanged(req, res, store.blobPath(sha256), blobHeaders(etag), etag, '');
}
