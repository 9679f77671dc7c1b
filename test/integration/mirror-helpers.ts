// Shared by the mirror integration tests: start a real mirror on port 0 with
// its own temp data dir, and issue raw HTTP requests (fetch would normalize
// `/../` before sending, hiding exactly what the traversal tests need to send).
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { loadConfig } from '../../common/config';
import { createLogger, type Logger } from '../../common/logger';
import { startMirror, type RunningMirror } from '../../mirrors/main';
import { TEST_FEED_PUBLIC_KEY } from './mirror-fake-origin';

const created: string[] = [];
process.on('exit', () => {
  for (const dir of created) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory, removed when the test process exits. */
export function tempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hyperstatic-${label}-`));
  created.push(dir);
  return dir;
}

export async function startTestMirror(options: {
  origins: string[];
  peers?: string[];
  dataDir?: string;
  env?: Record<string, string>;
  /** Where the mirror logs; default silent (or TEST_LOG_LEVEL). */
  logger?: Logger;
}): Promise<RunningMirror & { internalUrl: string; dataDir: string; registry: Registry }> {
  const dataDir = options.dataDir ?? tempDir('mirror');
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    MIRROR_PORT: '0',
    MIRROR_INTERNAL_PORT: '0',
    MIRROR_DATA_DIR: dataDir,
    MIRROR_ORIGIN_URLS: options.origins.join(','),
    MIRROR_PEERS: (options.peers ?? []).join(','),
    MIRROR_RECONNECT_MS: '20',
    MIRROR_FETCH_TIMEOUT_MS: '2000',
    MIRROR_PUBLIC_KEY: TEST_FEED_PUBLIC_KEY,
    MIRROR_STATUS_INTERVAL_MS: '0',
    ...options.env,
  });
  const registry = new Registry();
  const mirror = await startMirror(config, {
    logger: options.logger ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', 'mirror'),
    registry,
  });
  const { internalUrl } = mirror;
  if (internalUrl === undefined) throw new Error('the test mirror has no operator listener');
  return Object.assign(mirror, { internalUrl, dataDir, registry });
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

/** Sends `target` byte for byte as the request target. */
export function rawGet(
  baseUrl: string,
  target: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<RawResponse> {
  const base = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: base.hostname, port: base.port, path: target, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Retries `check` until it stops throwing; for states reached asynchronously with no event to await. */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}
