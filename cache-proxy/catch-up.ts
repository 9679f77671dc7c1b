// Which journal position a fill must come from (docs/cache-proxy.md,
// "Filling only from caught-up mirrors"). The feed says a path changed at
// position P as soon as the mirror it follows applied P; another mirror may
// not have yet, and its old answer (a 404 before an embargo lifts, the old
// home page) must not be stored again after the eviction. So a path evicted
// at P is filled only from an upstream whose answer says, in
// Hyperstatic-Position, that it has applied P. Pure: positions in, the
// position a fill needs out.
//
// Memory is bounded without ever being unsafe: when the table is full the
// oldest record goes, and its position becomes a floor every path must
// meet (stricter than needed, never looser). A record is dropped once every
// upstream has been seen at or past it: then no upstream can answer with
// what preceded it.

/** Records kept before the oldest turns into the floor. */
export const MAX_PENDING_PATHS = 10_000;

export interface CatchUp {
  /** A path changed at `position`: fills of it need an upstream at or past it. */
  evicted(path: string, position: number): void;
  /** Everything may have changed up to `position` (the feed's head on first contact). */
  evictedAll(position: number): void;
  /** An upstream answered from `position` (its Hyperstatic-Position); positions only move forward. */
  seen(upstream: string, position: number): void;
  /** The position a fill of `path` must come from, or undefined when any upstream will do. */
  required(path: string): number | undefined;
  /** Paths with a pending requirement (for tests). */
  readonly pending: number;
}

export function createCatchUp(upstreams: readonly string[], maxPaths = MAX_PENDING_PATHS): CatchUp {
  // Insertion order is eviction order: a re-evicted path moves to the end.
  const paths = new Map<string, number>();
  const positions = new Map<string, number>(upstreams.map((name) => [name, 0]));
  let floor = 0;

  /** Every upstream has answered from at least this position (0 until each has answered once). */
  function everyoneAt(): number {
    let lowest = Number.POSITIVE_INFINITY;
    for (const position of positions.values()) lowest = Math.min(lowest, position);
    return lowest === Number.POSITIVE_INFINITY ? 0 : lowest;
  }

  return {
    evicted(path, position) {
      const before = paths.get(path);
      paths.delete(path);
      paths.set(path, Math.max(before ?? 0, position));
      if (paths.size <= maxPaths) return;
      const [oldest, at] = paths.entries().next().value as [string, number];
      paths.delete(oldest);
      floor = Math.max(floor, at);
    },
    evictedAll(position) {
      floor = Math.max(floor, position);
    },
    seen(upstream, position) {
      if (position > (positions.get(upstream) ?? Number.POSITIVE_INFINITY)) positions.set(upstream, position);
    },
    required(path) {
      const needed = Math.max(floor, paths.get(path) ?? 0);
      if (needed === 0) return undefined;
      if (needed > everyoneAt()) return needed;
      // Every upstream is past it: no old answer can come back, for this path or below the floor.
      paths.delete(path);
      floor = 0;
      return undefined;
    },
    get pending() {
      return paths.size;
    },
  };
}
