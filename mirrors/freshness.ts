// Whether this mirror's copy is fresh (docs/trust.md, "Signed freshness"):
// frozen once the newest trusted heartbeat is past its valid-until, until a
// newer one arrives. A mirror that has never held a heartbeat (new, or just
// upgraded) is not called frozen: it has nothing to compare with yet.
import type { TrustState } from '../common/trust/trust-state';

/** The valid-until of the newest heartbeat when it has passed; undefined while fresh or before any. */
export function frozenSince(trust: TrustState, now = Date.now()): number | undefined {
  const until = trust.freshUntil();
  return until !== undefined && now > until ? until : undefined;
}

export interface Freshness {
  frozen: boolean;
  /** When the newest heartbeat was signed, and until when it vouches (ISO 8601), or null before any. */
  heartbeatAt: string | null;
  validUntil: string | null;
  /** The epoch and journal head that heartbeat named. */
  epoch: number | null;
  head: number | null;
  trust: 'roots' | 'pinned-key';
}

export function freshnessOf(trust: TrustState, now = Date.now()): Freshness {
  const latest = trust.latestHeartbeat();
  return {
    frozen: frozenSince(trust, now) !== undefined,
    heartbeatAt: latest ? new Date(latest.time).toISOString() : null,
    validUntil: latest ? new Date(latest.validUntil).toISOString() : null,
    epoch: latest?.epoch ?? null,
    head: latest?.head ?? null,
    trust: trust.anchor.kind === 'roots' ? 'roots' : 'pinned-key',
  };
}
