// `hyperstatic rebuild` reports progress as a bar with pages/s and ETA on a
// terminal, and as plain log lines (at most one per interval) anywhere else.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { interruptHandler, progressReporter } from './rebuild';
import type { RebuildProgress } from '../../producer/rebuild';

function capture(tty: boolean) {
  const out = Object.assign(new PassThrough(), { isTTY: tty, columns: 160 });
  let text = '';
  out.on('data', (b: Buffer) => (text += b.toString()));
  return { out, text: () => text };
}

const at = (pages: number, extra: Partial<RebuildProgress> = {}): RebuildProgress => ({
  phase: 'articles',
  pages,
  written: pages - 1,
  total: 2000,
  pagesPerSecond: 3210.4,
  etaSeconds: (2000 - pages) / 3210.4,
  ...extra,
});

describe('rebuild progress', () => {
  it('draws a bar with the phase, pages, pages/s and ETA on a terminal', () => {
    const { out, text } = capture(true);
    const progress = progressReporter(out);
    progress.update(at(100));
    progress.update(at(1500, { phase: 'indexes', total: 2400, etaSeconds: 0.3 }));
    progress.done();
    const frames = text()
      // eslint-disable-next-line no-control-regex
      .replace(/\x1b(\[[0-9;?]*[A-Za-z]|[78])/g, '')
      .split('rebuild [')
      .slice(1);
    assert.match(frames[0], /\] 5% articles 100\/2000 pages \| 99 changed \| 3210 pages\/s \| ETA 1 s/);
    assert.match(
      frames[frames.length - 1],
      /\] 62% indexes\s+1500\/2400 pages \| 1499 changed \| 3210 pages\/s \| ETA 1 s\s*$/,
    );
  });

  it('writes plain lines, no more than one per interval, when not a terminal', () => {
    const { out, text } = capture(false);
    const progress = progressReporter(out, { intervalMs: 60_000 });
    progress.update(at(100));
    progress.update(at(200));
    progress.update(at(300, { etaSeconds: Infinity }));
    progress.done();
    assert.deepEqual(text().split('\n').filter(Boolean), [
      'rebuild: articles   5.0%  100/2000 pages  99 changed  3210 pages/s  ETA 1 s',
    ]);
    const often = capture(false);
    const every = progressReporter(often.out, { intervalMs: 0 });
    every.update(at(300, { etaSeconds: Infinity }));
    assert.equal(often.text(), 'rebuild: articles  15.0%  300/2000 pages  299 changed  3210 pages/s  ETA ?\n');
  });
});

describe('rebuild interrupt', () => {
  function harness() {
    const { out, text } = capture(false);
    const controller = new AbortController();
    const exits: number[] = [];
    const interrupt = interruptHandler(controller, { done: () => undefined }, out, (code) => exits.push(code));
    return { interrupt, controller, exits, text };
  }

  it('stops after the current batch on the first Ctrl-C and quits on the second', () => {
    const { interrupt, controller, exits, text } = harness();
    interrupt.handle();
    assert.equal(controller.signal.aborted, true);
    assert.match(text(), /interrupting after the current batch/);
    interrupt.handle();
    assert.deepEqual(exits, [130]);
  });

  it('says nothing and aborts nothing when Ctrl-C arrives after the rebuild finished', () => {
    const { interrupt, controller, exits, text } = harness();
    interrupt.finished();
    interrupt.handle();
    interrupt.handle();
    assert.equal(controller.signal.aborted, false);
    assert.equal(text(), '');
    assert.deepEqual(exits, []);
  });
});
