import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatStatus } from './status';
import { Facts, judge, MirrorRow, mirrorState } from './status-health';
import { metricSum } from './status-probes';

const facts: Facts = {
  checkedAt: '2026-03-01T14:05:00.000Z',
  thresholds: { staleSeconds: 20, lagSeconds: 60 },
  database: { embedded: 'sqlite:x' },
  queue: {
    pendingRenders: 3,
    oldestPendingSeconds: 1.5,
    renderJobs: 2,
    savesRendered: 40,
    pagesJournaled: 100,
    pagesPerSave: 2.5,
  },
  journal: { head: 42, epoch: 2 },
  mirrors: [],
  processes: [{ kind: 'proxy', url: 'http://p', state: 'ready', ms: 3, checks: { upstreams: 'ok' } }],
  proxies: [{ url: 'http://p', reachable: true, hits: 90, misses: 8, stale: 2, hitRatio: 0.92 }],
  failedRenders: { unresolved: 0, latest: [] },
};
const healthy = judge(facts);

const reported: Omit<MirrorRow, 'state'> = {
  name: 'm1',
  url: 'https://m1.example',
  cursor: 40,
  epoch: 2,
  lagEntries: 2,
  lagSeconds: 0.25,
  connected: true,
  reportAgeSeconds: 4,
  freshness: 'fresh',
};

function mirror(overrides: Partial<Omit<MirrorRow, 'state'>>, retired = false): MirrorRow {
  const row = { ...reported, ...overrides };
  return { ...row, state: mirrorState(row, facts.thresholds, retired) };
}

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
    assert.match(
      screen,
      /^QUEUE {5}3 render\(s\) pending, oldest 1\.5 s; render queue 2 job\(s\); 2\.50 pages journaled per save \(40 saves rendered\)$/m,
    );
    assert.match(screen, /head 42, epoch 2/);
    assert.match(screen, /92\.0%/);
  });

  it('says what is unavailable instead of failing, and that no process or proxy is configured', () => {
    const status = judge({
      ...facts,
      queue: { error: 'ECONNREFUSED' },
      journal: { error: 'ECONNREFUSED' },
      mirrors: { error: 'no such table' },
      processes: [],
      proxies: [],
      failedRenders: { error: 'ECONNREFUSED' },
    });
    const screen = formatStatus(status);
    assert.equal(status.healthy, false);
    assert.match(screen, /^STATUS {4}4 problem\(s\): queue unavailable: ECONNREFUSED; journal unavailable: /m);
    assert.match(screen, /^PROCESSES none configured \(STATUS_APP_URLS, /m);
    assert.match(screen, /^DATABASE {2}embedded sqlite:x$/m);
    assert.match(screen, /^QUEUE {5}unavailable: ECONNREFUSED$/m);
    assert.match(screen, /^JOURNAL {3}unavailable: ECONNREFUSED$/m);
    assert.match(screen, /^MIRRORS {3}no reports \(no such table\)$/m);
    assert.match(screen, /^PROXIES {3}none configured \(STATUS_PROXY_URLS\)$/m);
    assert.match(screen, /^FAILED RENDERS {2}unavailable: ECONNREFUSED$/m);
  });

  it("tables each mirror's lag and flags a disconnected or frozen one", () => {
    const status = judge({
      ...facts,
      mirrors: [
        mirror({ connected: false, freshness: 'frozen', reportAgeSeconds: 12.4 }),
        mirror({ name: 'm2', reportAgeSeconds: 12.4 }),
      ],
    });
    const screen = formatStatus(status);
    assert.match(
      screen,
      /^MIRRORS\nMIRROR\s+STATE\s+CURSOR\s+EPOCH\s+LAG entries\s+LAG s\s+CONNECTED\s+FRESH\s+REPORT AGE s\s+URL$/m,
    );
    assert.match(screen, /^m1\s+FROZEN\s+40\s+2\s+2\s+0\.3\s+NO\s+FROZEN\s+12\s+https:\/\/m1\.example$/m);
    assert.match(screen, /^m2\s+ok\s+40\s+2\s+2\s+0\.3\s+yes\s+fresh\s+12\s+https:\/\/m1\.example$/m);
    assert.deepEqual(status.problems, ['mirror m1 frozen: its signed heartbeat lapsed']);
  });

  it('shows a mirror whose last report is older than the stale threshold as unknown, not as what it last said', () => {
    const stale = mirror({ reportAgeSeconds: 33 });
    assert.equal(stale.state, 'unknown');
    const status = judge({ ...facts, mirrors: [stale] });
    assert.match(formatStatus(status), /^m1\s+UNKNOWN\s+40\s+2\s+\?\s+\?\s+\?\s+\?\s+33\s+https:\/\/m1\.example$/m);
    assert.deepEqual(status.problems, ['mirror m1 unknown: last report 33 s old (over 20 s)']);
    assert.equal(mirror({ reportAgeSeconds: 20 }).state, 'ok', 'the threshold itself still counts');
  });

  it('judges lag, a lost feed and retirement by the thresholds', () => {
    assert.equal(mirror({ lagSeconds: 61 }).state, 'lagging');
    assert.equal(mirror({ lagSeconds: 60 }).state, 'ok');
    assert.equal(mirror({ connected: false }).state, 'disconnected');
    assert.equal(mirror({ reportAgeSeconds: 9999 }, true).state, 'retired');
    const status = judge({
      ...facts,
      queue: { ...facts.queue, pendingRenders: 5, oldestPendingSeconds: 75 },
      mirrors: [mirror({ lagSeconds: 61 }), mirror({ name: 'old', reportAgeSeconds: 9999 }, true)],
    });
    assert.deepEqual(status.problems, [
      'oldest pending render 75 s old (over 60 s)',
      'mirror m1 lagging 61 s (over 60 s)',
    ]);
  });

  it('tables every process probe and turns one that is down or not ready into a problem', () => {
    const status = judge({
      ...facts,
      processes: [
        { kind: 'app', url: 'http://a:3000', state: 'ready', ms: 4 },
        { kind: 'producer', url: 'http://p:3001', state: 'down', error: 'ECONNREFUSED' },
        { kind: 'mirror', url: 'http://m:9081', state: 'down', error: 'no answer within 2000 ms' },
        { kind: 'proxy', url: 'http://x:9080', state: 'not ready', ms: 2, error: 'upstreams: failing' },
      ],
    });
    const screen = formatStatus(status);
    assert.match(screen, /^PROCESSES\nKIND\s+URL\s+\/readyz\s+MS\s+DETAIL$/m);
    assert.match(screen, /^app\s+http:\/\/a:3000\s+ready\s+4$/m);
    assert.match(screen, /^producer\s+http:\/\/p:3001\s+DOWN\s+-\s+ECONNREFUSED$/m);
    assert.match(screen, /^proxy\s+http:\/\/x:9080\s+NOT READY\s+2\s+upstreams: failing$/m);
    assert.deepEqual(status.problems, [
      'producer http://p:3001 down: ECONNREFUSED',
      'mirror http://m:9081 down: no answer within 2000 ms',
      'proxy http://x:9080 not ready: upstreams: failing',
    ]);
    assert.match(screen, /^STATUS {4}3 problem\(s\): producer http:\/\/p:3001 down: ECONNREFUSED; mirror /m);
  });

  it('says ok with what it checked when nothing is wrong', () => {
    assert.equal(healthy.healthy, true);
    assert.match(formatStatus(healthy), /^STATUS {4}ok: 1 process\(es\) ready, 0 mirror report\(s\) current/m);
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
    const status = judge({ ...facts, failedRenders: { unresolved: 5, latest: [failure] } });
    assert.deepEqual(status.problems, ['5 failed render(s) unresolved']);
    const screen = formatStatus(status);
    assert.match(screen, /FAILED RENDERS {2}5 unresolved \(not retried; .*\), latest 1:/);
    assert.match(
      screen,
      /^article 7\s+\(deleted\)\s+article\.njk\s+2026-03-01T14:05:00\.000Z\s+template article\.njk failed: undefined is not a function$/m,
    );
    assert.match(formatStatus({ ...healthy, failedRenders: { unresolved: 0, latest: [] } }), /FAILED RENDERS {2}none/);
  });
});
