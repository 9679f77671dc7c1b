// What opening a store does with the temp files a crash or another process left.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { sha256Hex } from '../common/hash';
import { closeOpenedStores, openStore, tempStoreDir } from '../test/support/mirror-store-fixtures';

afterEach(closeOpenedStores);

describe('the temp sweep at open', () => {
  test('on open, a partial claimed by a process that died goes back to being resumable; temp files of a live process are left alone', () => {
    const dir = tempStoreDir();
    openStore(dir).close();
    const tmp = path.join(dir, 'blobs', 'tmp');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const claimed = sha256Hex('claimed by a killed mirror');
    const inFlight = sha256Hex('being written by a live process');
    fs.writeFileSync(path.join(tmp, `${claimed}.part.${dead}.0123456789ab`), 'half');
    fs.writeFileSync(path.join(tmp, `${inFlight}.${process.pid}.0123456789ab`), 'in flight');
    fs.writeFileSync(path.join(tmp, `${inFlight}.part.${process.pid}.ba9876543210`), 'claimed, in flight');
    const store = openStore(dir);
    assert.equal(store.partialBytes(claimed), 4);
    assert.deepEqual(
      fs.readdirSync(tmp).sort(),
      [
        `${claimed}.part`,
        `${inFlight}.${process.pid}.0123456789ab`,
        `${inFlight}.part.${process.pid}.ba9876543210`,
      ].sort(),
    );
  });

  test('on open, a partial download younger than a day is kept; an older one and any other temp file are removed', () => {
    const dir = tempStoreDir();
    openStore(dir).close();
    const tmp = path.join(dir, 'blobs', 'tmp');
    const fresh = sha256Hex('fresh');
    const old = sha256Hex('old');
    fs.writeFileSync(path.join(tmp, `${fresh}.part`), 'fre');
    fs.writeFileSync(path.join(tmp, `${old}.part`), 'ol');
    const twoDaysAgo = new Date(Date.now() - 48 * 3600_000);
    fs.utimesSync(path.join(tmp, `${old}.part`), twoDaysAgo, twoDaysAgo);
    fs.writeFileSync(path.join(tmp, `${fresh}.123.abcdef`), 'an inline write cut by a crash');
    const store = openStore(dir);
    assert.equal(store.partialBytes(fresh), 3);
    assert.equal(store.partialBytes(old), 0);
    assert.deepEqual(fs.readdirSync(tmp), [`${fresh}.part`]);
  });

  test('on open, a .part that is a dangling link (or no regular file) is removed instead of failing the start', () => {
    const dir = tempStoreDir();
    openStore(dir).close();
    const tmp = path.join(dir, 'blobs', 'tmp');
    fs.symlinkSync(path.join(dir, 'nowhere'), path.join(tmp, `${sha256Hex('link')}.part`));
    fs.symlinkSync(path.join(dir, 'index.sqlite'), path.join(tmp, `${sha256Hex('index')}.part`));
    fs.mkdirSync(path.join(tmp, `${sha256Hex('dir')}.part`));
    const store = openStore(dir);
    assert.deepEqual(fs.readdirSync(tmp), []);
    assert.equal(store.partialBytes(sha256Hex('index')), 0);
    assert.ok(fs.existsSync(path.join(dir, 'index.sqlite')), 'the link target is untouched');
  });
});
