// Pages journaled per save (issue 23, item 3), as a counter pair: saves
// rendered here, beside hyperstatic_pages_written_total (pages whose bytes
// changed and were journaled, render-job.ts). Their ratio over any window,
// summed over producers, is what a burst costs the mirrors per save:
//   sum(rate(hyperstatic_pages_written_total[5m])) / sum(rate(hyperstatic_saves_rendered_total[5m]))
// A save is one outbox row; rapid saves of one item that one render covers
// all count, so collapsing them shows as fewer pages per save.
import { Counter, Registry } from 'prom-client';

export const SAVES_RENDERED = 'hyperstatic_saves_rendered_total';

export function savesRenderedCounter(registry: Registry): Counter {
  const existing = registry.getSingleMetric(SAVES_RENDERED);
  if (existing) return existing as Counter;
  return new Counter({
    name: SAVES_RENDERED,
    help: 'Saves (outbox rows) whose render this producer committed; pages per save = hyperstatic_pages_written_total / this',
    registers: [registry],
  });
}
