// Media uploads are streamed to disk, not buffered: upload 20, 100 and 250 MB
// through POST /api/media on the real app (SQLite, in-process queue) and
// record the throughput and the peak growth of the process's RSS, which
// must stay flat as the file grows.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../common/config';
import { createDatabase } from '../common/db/database';
import { createMemoryNotifier } from '../common/journal-notifier';
import { createLogger } from '../common/logger';
import { migrateLatest } from '../app/db/migrate';
import { createApiToken, createUser } from '../app/auth/users';
import { startApp } from '../app/main';
import { createMemoryQueue } from '../common/queue/memory-queue';
import { report, Row } from './report';

const MB = 1024 * 1024;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-bench-media-'));
  const config = loadConfig({ DATA_DIR: dir, APP_PORT: '0', LOG_LEVEL: 'silent', MEDIA_MAX_BYTES: String(300 * MB) });
  const db = createDatabase(config.databaseUrl);
  await migrateLatest(db);
  await createUser(db, 'bench', 'editor', null);
  const token = await createApiToken(db, 'bench');
  const logger = createLogger('silent', 'bench');
  const app = await startApp(config, {
    db,
    logger,
    queue: createMemoryQueue(logger),
    notifier: createMemoryNotifier(),
  });
  const rows: Row[] = [];
  try {
    for (const sizeMb of [20, 100, 250]) {
      const size = sizeMb * MB;
      // An MP4 header, then filler: the type is sniffed from the first bytes.
      const first = Buffer.concat([Buffer.from([0, 0, 0, 0x20]), Buffer.from('ftypisom'), Buffer.alloc(MB - 12, 1)]);
      const filler = Buffer.alloc(MB, 7);
      let sent = 0;
      const body = new ReadableStream({
        pull(controller) {
          if (sent >= size) return controller.close();
          controller.enqueue(sent === 0 ? first : filler);
          sent += MB;
        },
      });
      const base = process.memoryUsage().rss;
      let peak = base;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
      const started = performance.now();
      const res = await fetch(`${app.url}/api/media?name=bench-${sizeMb}.mp4`, {
        method: 'POST',
        body,
        duplex: 'half',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      } as RequestInit);
      const item = (await res.json()) as { size: number };
      const seconds = (performance.now() - started) / 1000;
      clearInterval(sampler);
      if (res.status !== 201 || item.size !== size) throw new Error(`upload of ${sizeMb} MB answered ${res.status}`);
      rows.push({
        'file MB': sizeMb,
        seconds: +seconds.toFixed(2),
        'MB/s': +(sizeMb / seconds).toFixed(1),
        'peak RSS growth MB': +((peak - base) / MB).toFixed(1),
      });
    }
  } finally {
    await app.close();
    await db.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  report('media-upload', 'Streamed media upload (POST /api/media, sha256 + type sniff + journal)', rows);
}

void main();
