// Media uploads are streamed to disk, not buffered: upload 20, 100 and 250 MB
// through POST /api/media on the real app (SQLite, in-process queue) and
// record the throughput and the peak growth of the process's RSS, which
// must stay flat as the file grows. Then photos: JPEGs of three sizes, each
// answered once its renditions are made (app/media/renditions.ts), timed
// one at a time (wall and CPU seconds) and four at once.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
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
  const photos: Row[] = [];
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
    for (const [width, height] of [
      [1600, 1067],
      [4000, 3000],
      [6000, 4000],
    ]) {
      const jpegs = await Promise.all([0, 1, 2, 3, 4].map((seed) => photo(width, height, seed)));
      const upload = async (body: Buffer, name: string) => {
        const res = await fetch(`${app.url}/api/media?name=${name}`, {
          method: 'POST',
          body,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
        });
        if (res.status !== 201) throw new Error(`upload of ${name} answered ${res.status}: ${await res.text()}`);
        await res.json();
      };
      const base = process.memoryUsage().rss;
      let peak = base;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
      const oneStarted = performance.now();
      const cpuBefore = process.cpuUsage();
      await upload(jpegs[0], `photo-${width}.jpg`);
      const one = (performance.now() - oneStarted) / 1000;
      // CPU time of the process (libvips' threads included): steadier than wall time on a shared machine.
      const cpu = process.cpuUsage(cpuBefore);
      const fourStarted = performance.now();
      await Promise.all(jpegs.slice(1).map((jpeg, i) => upload(jpeg, `photo-${width}-${i}.jpg`)));
      const four = (performance.now() - fourStarted) / 1000;
      clearInterval(sampler);
      photos.push({
        'photo px': `${width}x${height}`,
        'JPEG KB': Math.round(jpegs[0].length / 1024),
        'one upload s': +one.toFixed(2),
        'one upload CPU s': +((cpu.user + cpu.system) / 1e6).toFixed(2),
        'four at once s': +four.toFixed(2),
        'peak RSS growth MB': +((peak - base) / MB).toFixed(1),
      });
    }
  } finally {
    await app.close();
    await db.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  report('media-upload', 'Streamed media upload (POST /api/media, sha256 + type sniff + journal)', rows, {
    photos,
  });
  report('media-upload-photos', 'Photo upload (POST /api/media, answered after every rendition is made)', photos);
}

/** A photo-like JPEG: smooth gradients with fine noise (noise alone would be a worst case no camera makes). */
async function photo(width: number, height: number, seed: number): Promise<Buffer> {
  const gradient = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      gradient[i] = (x * 255) / width;
      gradient[i + 1] = (y * 255) / height;
      gradient[i + 2] = (seed * 50 + ((x + y) % 97)) & 255;
    }
  const noise = await sharp({
    create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 12 } },
  })
    .raw()
    .toBuffer();
  for (let i = 0; i < gradient.length; i++) gradient[i] = Math.max(0, Math.min(255, gradient[i] + noise[i] - 128));
  return sharp(gradient, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer();
}

void main();
