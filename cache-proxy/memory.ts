// Keeping the process's RSS at the cache budget plus a fixed overhead.
//
// Every cached body is its own ArrayBuffer outside V8's heap. A body lives
// long enough in the LRU to be promoted to the old generation, so once the
// LRU drops it the memory comes back only at the next full collection, and
// V8 starts one for external memory only after it has grown by about 64 MiB
// since the last (its external allocation soft limit). Under churn (a flood
// of distinct pages through a small cache) those dead bodies, plus what
// malloc keeps around them, were most of the overhead above the budget
// (docs/benchmarks.md, "Proxy memory"). So the cache reports the bytes it
// drops, and after every `thresholdBytes` of them we ask V8 for a full
// collection: the dead bodies stay below a fixed amount, whatever the budget.
//
// The young generation is the other large part: V8 grows it up to 3 × 16 MiB
// while a flood of misses allocates request objects. A proxy process stops it
// growing past what it has when the proxy starts; the hit path allocates
// little, and measured hit throughput did not change (docs/benchmarks.md,
// "Proxy throughput").
import v8 from 'node:v8';
import vm from 'node:vm';

export interface Reclaimer {
  /** The cache dropped (evicted, replaced or deleted) an entry of this many bytes. */
  released(bytes: number): void;
  /** Full collections started so far (for /metrics). */
  readonly collections: number;
}

type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;

let exposedGc: GcFunction | undefined;

/**
 * V8's gc() without starting node with --expose-gc (which the launcher
 * cannot pass to itself): the flag exposes it in contexts created afterwards.
 */
function gcFunction(): GcFunction {
  if (!exposedGc) {
    v8.setFlagsFromString('--expose-gc');
    exposedGc = vm.runInNewContext('gc') as GcFunction;
  }
  return exposedGc;
}

/** A full, synchronous collection (tests measure what entries really hold with it). */
export function collectGarbage(): void {
  gcFunction()();
}

/**
 * Keeps V8's young generation at its current size for the rest of the
 * process. Only for a process that is a proxy and nothing else: it applies
 * to everything in the process (embedded mode leaves it alone).
 */
export function holdYoungGeneration(): void {
  // Read by V8 whenever it considers growing the new space (unlike --max-semi-space-size, fixed at start).
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}

export function createReclaimer(thresholdBytes: number): Reclaimer {
  let dropped = 0;
  let collections = 0;
  let scheduled = false;
  const gc = thresholdBytes > 0 ? gcFunction() : undefined;
  return {
    released(bytes) {
      if (!gc) return;
      dropped += bytes;
      if (dropped < thresholdBytes || scheduled) return;
      scheduled = true;
      // Not inside lru-cache's dispose (the entry is still referenced there); after the current request.
      setImmediate(() => {
        // Everything dropped until now is garbage this collection finds.
        dropped = 0;
        scheduled = false;
        collections++;
        gc({ type: 'major', execution: 'async' });
      });
    },
    get collections() {
      return collections;
    },
  };
}
