// A mirror far from the embedded site, for browser tests of what a reader
// gets from a mirror alone: it follows the origin through a fault-injecting
// link (cut the link to take the origin away) and is pinned to the origin's
// key, as bin/embedded.ts pins its own mirror.
import path from 'node:path';
import { keyFiles } from '../../app/feed/signing-keys';
import type { Embedded } from '../../bin/embedded';
import { loadConfig, type Config } from '../../common/config';
import { createLogger } from '../../common/logger';
import { startMirror, type RunningMirror } from '../../mirrors/main';
import { startFaultyLink, type FaultyLink } from './faulty-link';

export interface FarMirror {
  link: FaultyLink;
  mirror: RunningMirror;
}

/** Its data goes to DATA_DIR/far-mirror; `extra` adds or overrides mirror settings (peers, reconnect delay). */
export async function startFarMirror(
  site: Embedded,
  config: Config,
  dataDir: string,
  extra: Record<string, string> = {},
): Promise<FarMirror> {
  const link = await startFaultyLink(site.appUrl);
  const mirror = await startMirror(
    loadConfig({
      LOG_LEVEL: 'silent',
      MIRROR_PORT: '0',
      MIRROR_DATA_DIR: path.join(dataDir, 'far-mirror'),
      MIRROR_ORIGIN_URLS: link.url,
      MIRROR_PUBLIC_KEY: keyFiles(config.feedSigningKey).publicPath,
      MIRROR_STATUS_INTERVAL_MS: '0',
      ...extra,
    }),
    { logger: createLogger('silent', 'far-mirror') },
  );
  return { link, mirror };
}
