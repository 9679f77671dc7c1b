// The mirror's Prometheus metrics. Gauges are read at scrape time from the
// live state, so they cannot drift from what /_mirror/status reports.
import { Counter, Gauge, type Registry } from 'prom-client';

export interface MirrorMetrics {
  batchesApplied: Counter;
  batchesRejected: Counter;
  blobFetchErrors: Counter;
  feedErrors: Counter;
  signatureRejections: Counter;
  /** Refused trust statements, hellos, heartbeats and batches, by what and why (docs/trust.md). */
  trustRefusals: Counter<'what' | 'reason'>;
}

export function createMirrorMetrics(
  registry: Registry,
  read: {
    cursor: () => number;
    epoch: () => number;
    lagSeconds: () => number;
    lagEntries: () => number;
    connected: () => boolean;
    /** Seconds since the latest trusted heartbeat was signed; -1 before any. */
    heartbeatAgeSeconds: () => number;
    frozen: () => boolean;
  },
): MirrorMetrics {
  // One process may host several components on a shared registry (embedded
  // mode), and tests start several mirrors: reuse a metric that exists.
  function gauge(name: string, help: string, value: () => number): void {
    if (registry.getSingleMetric(name)) registry.removeSingleMetric(name);
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(value());
      },
    });
  }
  function counter(name: string, help: string): Counter {
    const existing = registry.getSingleMetric(name);
    if (existing instanceof Counter) return existing;
    return new Counter({ name, help, registers: [registry] });
  }
  gauge(
    'hyperstatic_mirror_cursor',
    'Sequence number of the last change-journal entry this mirror applied',
    read.cursor,
  );
  gauge('hyperstatic_mirror_epoch', 'Epoch of the last batch this mirror applied', read.epoch);
  gauge(
    'hyperstatic_mirror_feed_connected',
    '1 while the mirror holds an accepted change-feed connection, else 0',
    () => (read.connected() ? 1 : 0),
  );
  gauge(
    'hyperstatic_mirror_lag_entries',
    'Journal entries the mirror knows of but has not applied yet',
    read.lagEntries,
  );
  gauge(
    'hyperstatic_mirror_lag_seconds',
    'Seconds since the mirror first learned of an entry it has not applied yet (0 when caught up)',
    read.lagSeconds,
  );
  const trustRefusals = trustMetrics(registry, gauge, read);
  return {
    trustRefusals,
    batchesApplied: counter('hyperstatic_mirror_batches_applied_total', 'Batches applied to the local copy'),
    batchesRejected: counter(
      'hyperstatic_mirror_batches_rejected_total',
      'Batches refused (out of order, stale epoch, blobs unavailable)',
    ),
    blobFetchErrors: counter(
      'hyperstatic_mirror_blob_fetch_errors_total',
      'Failed blob transfers (one per source tried), including hash mismatches',
    ),
    feedErrors: counter('hyperstatic_mirror_feed_errors_total', 'Change-feed connections that failed or were refused'),
    signatureRejections: counter(
      'hyperstatic_mirror_signature_rejections_total',
      'Batches or manifests refused because the origin signature was missing or wrong',
    ),
  };
}

/** Freshness gauges and the refusal counter (docs/trust.md). */
function trustMetrics(
  registry: Registry,
  gauge: (name: string, help: string, value: () => number) => void,
  read: { heartbeatAgeSeconds: () => number; frozen: () => boolean },
): Counter<'what' | 'reason'> {
  gauge(
    'hyperstatic_mirror_heartbeat_age_seconds',
    'Seconds since the origin signed the newest heartbeat this mirror holds (-1 before any)',
    read.heartbeatAgeSeconds,
  );
  gauge(
    'hyperstatic_mirror_frozen',
    '1 while the newest heartbeat is past its valid-until: the copy may be missing news (docs/trust.md)',
    () => (read.frozen() ? 1 : 0),
  );
  const existingRefusals = registry.getSingleMetric('hyperstatic_mirror_trust_refusals_total');
  const trustRefusals =
    existingRefusals instanceof Counter
      ? (existingRefusals as Counter<'what' | 'reason'>)
      : new Counter({
          name: 'hyperstatic_mirror_trust_refusals_total',
          help: 'Trust statements, hellos, heartbeats, batches and manifests refused, by what and reason',
          labelNames: ['what', 'reason'] as const,
          registers: [registry],
        });
  return trustRefusals;
}
