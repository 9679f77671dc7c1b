import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterStatus, formatStatus, metricSum } from './status';

const healthy: ClusterStatus = {
  database: { embedded: 'sqlite:x' },
  queue: { pendingRenders: 3, oldestPendingSeconds: 1.5 },
  journal: { head: 42, epoch: 2 },
  mirrors: { error: 'no such table' },
  proxies: [{ url: 'http://p', reachable: true, hits: 90, misses: 8, stale: 2, hitRatio: 0.92 }],
};

describe('status screen', () => {
  it("reads a proxy's hit ratio from its Prometheus counters, labels summed", () => {
    const text = [
      '# HELP hyperstatic_proxy_cache_hits_total Requests answered from a fresh cached copy',
      'hyperstatic_proxy_cache_hits_total 90',
      'hyperstatic_proxy_cache_hits_total_created 1',
      'hyperstatic_proxy_cache_misses_total 8',
      'hyperstatic_proxy_stale_served_total{reason="error"} 1',
      'hyperstatic_proxy_stale_served_total{reason="revalidating"} 1',
    ].join('\n');
    assert.equal(metricSum(text, 'hyperstatic_proxy_cache_hits_total'), 90);
    assert.equal(metricSum(text, 'hyperstatic_proxy_stale_served_total'), 2);
    assert.equal(metricSum(text, 'absent_total'), undefined);
    const screen = formatStatus(healthy);
    assert.match(screen, /3 render\(s\) pending/);
    assert.match(screen, /head 42, epoch 2/);
    assert.match(screen, /92\.0%/);
  });

  it('says what is unavailable instead of failing, and that no proxy is configured', () => {
    const screen = formatStatus({
      ...healthy,
      queue: { error: 'ECONNREFUSED' },
      journal: { error: 'ECONNREFUSED' },
      proxies: [],
      failedRenders: { error: 'ECONNREFUSED' },
    });
    assert.match(screen, /^DATABASE {2}embedded sqlite:x$/m);
    assert.match(screen, /^QUEUE {5}unavailable: ECONNREFUSED$/m);
    assert.match(screen, /^JOURNAL {3}unavailable: ECONNREFUSED$/m);
    assert.match(screen, /^MIRRORS {3}no reports \(no such table\)$/m);
    assert.match(screen, /^PROXIES {3}none configured \(STATUS_PROXY_URLS\)$/m);
    assert.match(screen, /^FAILED RENDERS {2}unavailable: ECONNREFUSED$/m);
  });

  it("tables each mirror's lag and flags a disconnected or frozen one", () => {
    const mirror = {
      name: 'm1',
      url: 'https://m1.example',
      cursor: 40,
      epoch: 2,
      lagEntries: 2,
      lagSeconds: 0.25,
      connected: false,
      reportAgeSeconds: 12.4,
      freshness: 'frozen' as const,
    };
    const screen = formatStatus({
      ...healthy,
      mirrors: [mirror, { ...mirror, name: 'm2', connected: true, freshness: 'fresh' as const }],
    });
    assert.match(
      screen,
      /^MIRRORS\nMIRROR\s+CURSOR\s+EPOCH\s+LAG entries\s+LAG s\s+CONNECTED\s+FRESH\s+REPORT AGE s\s+URL$/m,
    );
    assert.match(screen, /^m1\s+40\s+2\s+2\s+0\.3\s+NO\s+FROZEN\s+12\s+https:\/\/m1\.example$/m);
    assert.match(screen, /^m2\s+40\s+2\s+2\s+0\.3\s+yes\s+fresh\s+12\s+https:\/\/m1\.example$/m);
  });

  it('lists failed renders, says how many more there are, and marks a deleted item', () => {
    const failure = {
      topic: 'article',
      itemId: 7,
      slug: null,
      template: 'article.njk',
      error: 'template article.njk failed:\n  undefined is not a function',
      failedAt: '2026-03-01T14:05:00.000Z',
    };
    const screen = formatStatus({ ...healthy, failedRenders: { unresolved: 5, latest: [failure] } });
    assert.match(screen, /FAILED RENDERS {2}5 unresolved \(not retried; .*\), latest 1:/);
    assert.match(
      screen,
      /^article 7\s+\(deleted\)\s+article\.njk\s+2026-03-01T14:05:00\.000Z\s+template article\.njk failed: undefined is not a function$/m,
    );
    assert.match(formatStatus({ ...healthy, failedRenders: { unresolved: 0, latest: [] } }), /FAILED RENDERS {2}none/);
  });
});
