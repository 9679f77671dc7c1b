// MariaDB GTID positions ("domain-server-seq" per replication domain, comma
// separated) as plain data: parse, compare, format. Pure, so the promotion
// safety checks built on them can be tested without a server.

export interface Gtid {
  domain: number;
  server: number;
  seq: number;
}

/** One GTID per domain, the last one in that domain. */
export type GtidPosition = ReadonlyMap<number, Gtid>;

export function parseGtidPosition(raw: string | null | undefined): GtidPosition {
  const out = new Map<number, Gtid>();
  for (const part of String(raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const match = /^(\d+)-(\d+)-(\d+)$/.exec(part);
    if (!match) throw new Error(`not a MariaDB GTID: ${JSON.stringify(part)}`);
    const gtid = { domain: Number(match[1]), server: Number(match[2]), seq: Number(match[3]) };
    const seen = out.get(gtid.domain);
    if (!seen || seen.seq < gtid.seq) out.set(gtid.domain, gtid);
  }
  return out;
}

export function formatGtidPosition(position: GtidPosition): string {
  return [...position.values()]
    .sort((a, b) => a.domain - b.domain)
    .map((g) => `${g.domain}-${g.server}-${g.seq}`)
    .join(',');
}

/**
 * Whether everything in `needed` is contained in `have`: in every domain of
 * `needed`, `have` reached at least the same sequence number. With
 * gtid_strict_mode a domain is one ordered history, so this is a prefix test.
 */
export function gtidContains(have: GtidPosition, needed: GtidPosition): boolean {
  for (const [domain, gtid] of needed) {
    const mine = have.get(domain);
    if (!mine || mine.seq < gtid.seq) return false;
  }
  return true;
}

/**
 * GTIDs the two positions disagree on at the same sequence number: both
 * reached seq N in a domain but from different servers means each has a
 * transaction the other never had (diverged history). Different lengths of
 * one history are not divergence, only lag.
 */
export function gtidConflicts(a: GtidPosition, b: GtidPosition): string[] {
  const out: string[] = [];
  for (const [domain, ga] of a) {
    const gb = b.get(domain);
    if (gb && ga.seq === gb.seq && ga.server !== gb.server)
      out.push(`domain ${domain}: ${ga.domain}-${ga.server}-${ga.seq} vs ${gb.domain}-${gb.server}-${gb.seq}`);
  }
  return out;
}

/** Transactions `ahead` has that `behind` lacks, summed over domains (a lag in transactions). */
export function gtidDistance(ahead: GtidPosition, behind: GtidPosition): number {
  let n = 0;
  for (const [domain, g] of ahead) n += Math.max(0, g.seq - (behind.get(domain)?.seq ?? 0));
  return n;
}
