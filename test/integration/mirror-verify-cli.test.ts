// `hyperstatic mirror verify` run as the real CLI: its --data-dir and
// --origin reach it whether given after `verify` or after `mirror` (the
// parent command declares both flags too), and win over MIRROR_DATA_DIR and
// MIRROR_ORIGIN_URLS. A mirror copy made by a real mirror following a fake
// origin; a second, live mirror is the peer it is compared with.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { makeBatch, startFakeOrigin, TEST_FEED_PUBLIC_KEY, type FakeOrigin } from './mirror-fake-origin';
import { startTestMirror, tempDir } from './mirror-helpers';
import { closedPortUrl } from './proxy-helpers';

const CLI = path.join(__dirname, '..', '..', 'bin', 'hyperstatic.js');

describe('hyperstatic mirror verify flags', { timeout: 60_000 }, () => {
  let origin: FakeOrigin;
  let peer: Awaited<ReturnType<typeof startTestMirror>>;
  let copy: string;
  let decoy: string;
  let deadOrigin: string;

  before(async () => {
    origin = await startFakeOrigin();
    origin.publish(makeBatch(1, 1, [{ path: '/a/', body: 'the story' }]));
    copy = tempDir('verify-copy');
    const local = await startTestMirror({ origins: [origin.url], dataDir: copy });
    await local.waitForCursor(1, 10_000);
    await local.close();
    peer = await startTestMirror({ origins: [origin.url] });
    await peer.waitForCursor(1, 10_000);
    decoy = tempDir('verify-decoy');
    deadOrigin = await closedPortUrl();
  });
  after(async () => {
    await peer?.close();
    await origin?.close();
  });

  /** Runs the CLI with the environment pointing at an empty data dir and an origin that refuses connections. */
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, [CLI, ...args], {
      env: {
        ...process.env,
        LOG_LEVEL: 'warn',
        MIRROR_DATA_DIR: decoy,
        MIRROR_ORIGIN_URLS: deadOrigin,
        MIRROR_PUBLIC_KEY: TEST_FEED_PUBLIC_KEY,
      },
    });

  test('reads the data dir given by --data-dir, after `verify` or after `mirror`, not MIRROR_DATA_DIR', async () => {
    for (const args of [
      ['mirror', 'verify', '--peer', peer.internalUrl, '--data-dir', copy],
      ['mirror', '--data-dir', copy, 'verify', '--peer', peer.internalUrl],
    ]) {
      const { stdout } = await run(args);
      assert.match(stdout, /this mirror: cursor 1\n/, args.join(' '));
      assert.match(stdout, /pages in manifest: 1; missing here: 0; different here: 0; only here: 0/, args.join(' '));
      assert.match(stdout, /result: consistent/);
    }
    assert.deepEqual(fs.readdirSync(decoy), [], 'the data dir in the environment was never opened');
  });

  test('asks the origin given by --origin, not MIRROR_ORIGIN_URLS', async () => {
    // The fake origin has no signed manifest: its 404, named in the error, shows it was the one asked.
    await assert.rejects(run(['mirror', 'verify', '--data-dir', copy, '--origin', origin.url]), (error: Error) => {
      const { stderr } = error as Error & { stderr: string };
      assert.match(stderr, new RegExp(`${origin.url}/manifest answered 404`));
      assert.doesNotMatch(stderr, new RegExp(deadOrigin));
      return true;
    });
  });
});
