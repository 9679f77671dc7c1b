// Which journal position a fill must come from (docs/cache-proxy.md,
// "Filling only from caught-up mirrors"). The feed says a path changed at
// position P as soon as the mirror it follows applied P; another mirror may
// not have yet, and its old answer (a 404 before an embargo lifts, the old
// home page) must not be stored again after the eviction. So a path evicted
// at P is filled only from an upstream whose answer says, in
// Hyperstatic-Position, that it has applied P. Pure: positions in, the
// position a fill needs out.
//
// When no upstream catches up within PROXY_CATCH_UP_WAIT_MS (the mirror
// the proxy follows is gone and the others are cut off from the origin), a
// page that changed is served from the newest answer there is, without
// storing it: an older home page is better than an error on the worst day.
// A page the change removed (unpublished, deleted, taken down) is not: it
// stays an error rather than coming back. Nor is a path held only by a floor
// (a first contact, or a record dropped to bound memory): the proxy cannot
// tell whether the change removed it.
//
// Memory is bounded without ever being unsafe: when the table is full the
// oldest record goes, and its position becomes a floor every path must
// meet (stricter than needed, never looser). A record is dropped once every
// upstream has been seen at or past it: then no upstream can answer with
// what preceded it.

/** Records kept before the oldest turns into the floor. */
export const MAX_PENDING_PATHS = 10_000;

/** What a fill of a path needs: an answer from `position` or later. */
export interface Requirement {
  position: number;
  /** Never an older answer, however long the wait: the change removed the page, or the proxy cannot tell. */
  strict: boolean;
}

interface PathRecord {
  position: number;
  /** The latest change removed the page. */
  gone: boolean;
}

export interface CatchUp {
  /** A path changed at `position` (`gone`: the change removed it): fills of it need an upstream at or past it. */
  evicted(path: string, position: number, gone?: boolean): void;
  /** Everything may have changed up to `position` (the feed's head on first contact). */
  evictedAll(position: number): void;
  /** An upstream answered from `position` (its Hyperstatic-Position); positions only move forward. */
  seen(upstream: string, position: number): void;
  /** What a fill of `path` must come from, or undefined when any upstream will do. */
  required(path: string): Requirement | undefined;
  /** Paths with a pending requirement (for tests). */
  readonly pending: number;
}

export function createCatchUp(upstreams: readonly string[], maxPaths = MAX_PENDING_PATHS): CatchUp {
  // Insertion order is eviction order: a re-evicted path moves to the end.
  const paths = new Map<string, PathRecord>();
  const positions = new Map<string, number>(upstreams.map((name) => [name, 0]));
  let floor = 0;

  /** Every upstream has answered from at least this position (0 until each has answered once). */
  function everyoneAt(): number {
    let lowest = Number.POSITIVE_INFINITY;
    for (const position of positions.values()) lowest = Math.min(lowest, position);
    return lowest === Number.POSITIVE_INFINITY ? 0 : lowest;
  }

  return {
    evicted(path, position, gone = false) {
      const before = paths.get(path);
      paths.delete(path);
      // The newest change decides whether the page is gone (republished after a takedown: it is not).
      const newer = before === undefined || position >= before.position;
      paths.set(path, { position: Math.max(before?.position ?? 0, position), gone: newer ? gone : before.gone });
      if (paths.size <= maxPaths) return;
      const [oldest, at] = paths.entries().next().value as [string, PathRecord];
      paths.delete(oldest);
      floor = Math.max(floor, at.position);
    },
    evictedAll(position) {
      floor = Math.max(floor, position);
    },
    seen(upstream, position) {
      if (position > (positions.get(upstream) ?? Number.POSITIVE_INFINITY)) positions.set(upstream, position);
    },
    required(path) {
      const record = paths.get(path);
      const needed = Math.max(floor, record?.position ?? 0);
      if (needed === 0) return undefined;
      if (needed > everyoneAt())
        return { position: needed, strict: record === undefined || record.position < floor || record.gone };
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
