// Who is waiting for the mirror's cursor to reach a sequence number (tests,
// benches and the embedded quick start ask "has the mirror got seq N yet?").
import { EventEmitter } from 'node:events';

export interface CursorWatch {
  /** The cursor moved (a batch or a bootstrap was applied). */
  advanced(cursor: number): void;
  /** Resolves once the cursor reaches `seq`; rejects after `timeoutMs`. */
  waitFor(seq: number, timeoutMs: number): Promise<void>;
}

export function createCursorWatch(cursor: () => number): CursorWatch {
  const applied = new EventEmitter();
  applied.setMaxListeners(0);
  return {
    advanced: (value) => applied.emit('cursor', value),
    waitFor(seq, timeoutMs) {
      if (cursor() >= seq) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const onCursor = (value: number) => {
          if (value < seq) return;
          clearTimeout(timer);
          applied.off('cursor', onCursor);
          resolve();
        };
        const timer = setTimeout(() => {
          applied.off('cursor', onCursor);
          reject(new Error(`mirror cursor ${cursor()} did not reach ${seq} within ${timeoutMs} ms`));
        }, timeoutMs);
        applied.on('cursor', onCursor);
      });
    },
  };
}
