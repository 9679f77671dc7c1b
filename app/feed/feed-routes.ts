// The origin's side of the mirror protocol, as one router: the change feed
// (`GET /feed`), the bootstrap manifest (`GET /manifest`) and the mirrors'
// status reports (`POST /mirror-status`). Blobs stay in app/server.ts.
import type { KeyObject } from 'node:crypto';
import express, { type Router } from 'express';
import type { Registry } from 'prom-client';
import type { Database } from '../../common/db/database';
import { FEED_PATH, MANIFEST_PATH, MIRROR_STATUS_PATH } from '../../common/feed-format';
import type { JournalNotifier } from '../../common/journal-notifier';
import type { Logger } from '../../common/logger';
import type { TrustBundle } from '../../common/trust/statements';
import { createFeedHub } from './feed-stream';
import { createJournalReader } from './journal-reader';
import { sendManifest } from './manifest';
import { authorizeStatusReport } from './mirror-credentials';
import { parseMirrorStatusReport, recordMirrorStatus } from './mirror-status';

export interface FeedService {
  router: Router;
  close(): void;
}

export interface FeedServiceDeps {
  db: Database;
  notifier: JournalNotifier;
  logger: Logger;
  registry: Registry;
  signingKey: KeyObject;
  /** The delegations and revocations installed on this site, sent with the feed and the manifest. */
  trustBundle?: () => Promise<TrustBundle>;
  heartbeatMs?: number;
  heartbeatValidMs?: number;
  /** The legacy shared MIRROR_STATUS_TOKEN (any name may report with it); per-mirror tokens are in the database. */
  statusToken: string;
  now?: () => number;
}

export function createFeedService(deps: FeedServiceDeps): FeedService {
  const { db, logger } = deps;
  const now = deps.now ?? Date.now;
  const trustBundle = deps.trustBundle ?? (async () => ({ delegations: [], revocations: [] }));
  const hub = createFeedHub({
    trustBundle,
    heartbeatMs: deps.heartbeatMs ?? 5000,
    heartbeatValidMs: deps.heartbeatValidMs ?? 60_000,
    now,
    reader: createJournalReader(db),
    notifier: deps.notifier,
    logger,
    registry: deps.registry,
    signingKey: deps.signingKey,
  });
  const router = express.Router();
  router.get(FEED_PATH, (req, res) => hub.handle(req, res));
  router.get(MANIFEST_PATH, async (_req, res) => {
    try {
      await sendManifest(db, deps.signingKey, await trustBundle(), res);
    } catch (error) {
      if (!res.headersSent) throw error;
      // Mid-stream: cut the response so the mirror sees no valid end line and retries.
      logger.warn({ err: error }, 'manifest stream failed');
      res.destroy();
    }
  });
  router.post(MIRROR_STATUS_PATH, express.json({ limit: '16kb' }), async (req, res) => {
    const report = parseMirrorStatusReport(req.body);
    await authorizeStatusReport(db, req.get('authorization'), report.name, deps.statusToken);
    await recordMirrorStatus(db, report, now());
    res.status(204).end();
  });
  return { router, close: () => hub.close() };
}
