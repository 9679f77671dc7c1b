import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VerifyReport } from '../../mirrors/verify';
import { verifyReportLines } from './mirror';

const report = (extra: Partial<VerifyReport> = {}): VerifyReport => ({
  source: 'https://origin.example',
  signed: true,
  manifestCursor: 120,
  localCursor: 118,
  pages: 40,
  missing: 0,
  differing: 0,
  extra: 0,
  examples: [],
  corruptBlobs: [],
  repairedBlobs: 0,
  repairedPaths: 0,
  consistent: true,
  notes: [],
  ...extra,
});

describe('mirror verify output', () => {
  it('names a signed reference and says consistent when nothing differs', () => {
    assert.deepEqual(verifyReportLines(report()), [
      'reference: https://origin.example (signed by the pinned origin key), cursor 120; this mirror: cursor 118',
      'pages in manifest: 40; missing here: 0; different here: 0; only here: 0',
      'corrupt or missing blobs: 0',
      'result: consistent',
    ]);
  });

  it('lists repairs, at most ten differing paths and the notes, and says differences remain', () => {
    const examples = Array.from({ length: 12 }, (_, i) => `/articles/a-${i}`);
    const lines = verifyReportLines(
      report({
        signed: false,
        differing: 12,
        examples,
        corruptBlobs: ['ab', 'cd'],
        repairedBlobs: 2,
        repairedPaths: 3,
        notes: ['peer manifests are unsigned'],
        consistent: false,
      }),
    );
    assert.match(lines[0], /\(unsigned peer manifest\)/);
    assert.equal(lines[2], 'corrupt or missing blobs: 2 (2 fetched again)');
    assert.equal(lines[3], 'repaired paths: 3');
    assert.deepEqual(
      lines.filter((l) => l.startsWith('  differs: ')),
      examples.slice(0, 10).map((p) => `  differs: ${p}`),
    );
    assert.equal(lines.at(-2), 'note: peer manifests are unsigned');
    assert.equal(lines.at(-1), 'result: DIFFERENCES REMAIN');
  });
});
