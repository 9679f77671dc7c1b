// The configuration browser tests start the embedded site with: every port
// free (0), quiet logs, in a new temporary data folder.
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../common/config';

export async function embeddedTestConfig(
  name: string,
  extra: Record<string, string> = {},
): Promise<{ dataDir: string; config: Config }> {
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), `hs-${name}-`));
  const config = loadConfig({
    DATA_DIR: dataDir,
    APP_PORT: '0',
    MIRROR_PORT: '0',
    PROXY_PORT: '0',
    PRODUCER_PORT: '0',
    LOG_LEVEL: 'silent',
    PROXY_ACCESS_LOG: 'false',
    ...extra,
  });
  return { dataDir, config };
}
