// The database topology as app and producer see it on their poll
// (router.ts), for Prometheus: which nodes answer, how far each replica
// trails, and whether the primary's semi-sync has fallen back to async. The
// alert rules in deploy/prometheus/alerts.yml read these.
import { Gauge, Registry } from 'prom-client';
import type { DatabaseRouter } from './router';

/** Registers the gauges when the router follows a replicated cluster (DATABASE_NODES); a single node has nothing to report. */
export function registerRouterMetrics(registry: Registry, router: DatabaseRouter): void {
  if (router.state().nodes.length < 2) return;
  new Gauge({
    name: 'hyperstatic_db_node_up',
    help: "1 when the database node answered this process's last topology poll, 0 when it did not",
    labelNames: ['node'],
    registers: [registry],
    collect() {
      this.reset();
      for (const v of router.state().nodes) this.set({ node: v.name }, v.reachable ? 1 : 0);
    },
  });
  new Gauge({
    name: 'hyperstatic_db_replica_lag_seconds',
    help: "How far each reachable replica trails the primary: how much older its newest journal entry is than the primary's, in seconds (0 when it has them all)",
    labelNames: ['node'],
    registers: [registry],
    collect() {
      this.reset();
      for (const v of router.state().nodes) if (v.lagSeconds != null) this.set({ node: v.name }, v.lagSeconds);
    },
  });
  const semiSync = (name: string, help: string, read: (s: { enabled: boolean; active: boolean }) => boolean) =>
    new Gauge({
      name,
      help,
      labelNames: ['node'],
      registers: [registry],
      collect() {
        this.reset();
        const state = router.state();
        if (state.semiSync) this.set({ node: state.primary }, read(state.semiSync) ? 1 : 0);
      },
    });
  semiSync(
    'hyperstatic_db_semi_sync_enabled',
    '1 when the primary has rpl_semi_sync_master_enabled on (the operator asked for semi-sync)',
    (s) => s.enabled,
  );
  semiSync(
    'hyperstatic_db_semi_sync_active',
    "1 when the primary's commits wait for a replica's acknowledgement (Rpl_semi_sync_master_status); 0 after it fell back to async",
    (s) => s.active,
  );
}
