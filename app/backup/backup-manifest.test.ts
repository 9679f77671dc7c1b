// backup.json is checked before a restore touches anything: a manifest that
// names a path outside the data folder, or would restore the private key
// readable by others, is refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBackupManifest, type BackupManifest } from './backup-manifest';

const SHA = 'a'.repeat(64);
const manifest = (change: (m: BackupManifest) => void = () => undefined): string => {
  const m: BackupManifest = {
    format: 'hyperstatic-backup',
    version: 1,
    hyperstatic: '0.1.0',
    createdAt: '2026-01-01T00:00:00.000Z',
    journalHead: 12,
    epoch: 1,
    schema: '013-mirror-freshness',
    pages: 3,
    signingKey: 'feed-ed25519.key',
    files: [
      { path: 'hyperstatic.sqlite', size: 4096, sha256: SHA, mode: 0o600 },
      { path: `media/${SHA}`, size: 10, sha256: SHA, mode: 0o644 },
      { path: 'keys/feed-ed25519.key', size: 119, sha256: SHA, mode: 0o600 },
    ],
  };
  change(m);
  return JSON.stringify(m);
};

describe('backup.json', () => {
  it('reads a manifest that lists the database and the signing key', () => {
    assert.equal(parseBackupManifest(manifest()).journalHead, 12);
  });

  it('refuses paths outside the database, media and keys', () => {
    for (const bad of ['../etc/passwd', 'media/../../x', '/abs', 'media/sub/file', 'mirror/state.json', 'keys/.hidden'])
      assert.throws(
        () => parseBackupManifest(manifest((m) => m.files.push({ path: bad, size: 1, sha256: SHA, mode: 0o644 }))),
        /is not a path a backup holds/,
        bad,
      );
  });

  it('refuses a signing key others could read, a missing key or database, and other formats', () => {
    assert.throws(() => parseBackupManifest(manifest((m) => (m.files[2].mode = 0o644))), /let others read it/);
    assert.throws(() => parseBackupManifest(manifest((m) => m.files.splice(2, 1))), /lists no signing key/);
    assert.throws(() => parseBackupManifest(manifest((m) => m.files.splice(0, 1))), /lists no hyperstatic\.sqlite/);
    assert.throws(() => parseBackupManifest(manifest((m) => (m.version = 2 as 1))), /format version 2/);
    assert.throws(() => parseBackupManifest('{"format":"tarball"}'), /does not describe a hyperstatic backup/);
    assert.throws(() => parseBackupManifest('not json'), /is not JSON/);
  });
});
