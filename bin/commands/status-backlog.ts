// The render backlog in `hyperstatic status` (issue 23, item 3): what the
// outbox says (saves waiting, the oldest one's age: common/render-backlog.ts)
// and what the processes' /metrics say about the render queue (jobs waiting
// or running, the same shared queue whoever reports it) and about pages
// journaled per save (the counter pair of producer/backlog-metrics.ts,
// summed over producers since they started). In the embedded mode the app's
// /metrics carries the producer's series.
import { metricSum, ProbeTarget } from './status-probes';

export interface RenderQueueFigures {
  /** Render jobs waiting or running; null when no app or producer answered /metrics. */
  renderJobs: number | null;
  /** Saves rendered and pages journaled by the producers that answered, since each started. */
  savesRendered: number | null;
  pagesJournaled: number | null;
  /** pagesJournaled / savesRendered; null before the first save is rendered. */
  pagesPerSave: number | null;
}

interface Scrape {
  depth?: number;
  saves?: number;
  pages?: number;
}

async function scrape(url: string, timeoutMs: number): Promise<Scrape | undefined> {
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    const text = await res.text();
    return {
      depth: metricSum(text, 'hyperstatic_render_queue_depth'),
      saves: metricSum(text, 'hyperstatic_saves_rendered_total'),
      pages: metricSum(text, 'hyperstatic_pages_written_total'),
    };
  } catch {
    // Down or frozen: its /readyz probe reports that; here it just has no figures.
    return undefined;
  }
}

/** Pure: the figures from what each process's /metrics said. */
export function combineScrapes(scrapes: (Scrape | undefined)[]): RenderQueueFigures {
  const answered = scrapes.filter((s): s is Scrape => s !== undefined);
  const depths = answered.map((s) => s.depth).filter((d): d is number => d !== undefined);
  const counted = answered.filter((s) => s.saves !== undefined);
  const saves = counted.length ? counted.reduce((n, s) => n + s.saves!, 0) : null;
  const pages = counted.length ? counted.reduce((n, s) => n + (s.pages ?? 0), 0) : null;
  return {
    // Every process reports the one shared queue: the freshest reading is as good as any, the largest is the safe one.
    renderJobs: depths.length ? Math.max(...depths) : null,
    savesRendered: saves,
    pagesJournaled: pages,
    pagesPerSave: saves && pages !== null ? pages / saves : null,
  };
}

/** Asks the apps and producers among `targets`; never throws. */
export async function renderQueueFigures(targets: ProbeTarget[], timeoutMs: number): Promise<RenderQueueFigures> {
  const asked = targets.filter((t) => t.kind === 'app' || t.kind === 'producer');
  return combineScrapes(await Promise.all(asked.map((t) => scrape(t.url, timeoutMs))));
}

/** The QUEUE line's tail: `; render queue N job(s); P pages journaled per save (S saves rendered)`. */
export function renderQueueText(f: RenderQueueFigures): string {
  const parts: string[] = [];
  parts.push(f.renderJobs === null ? 'render queue not reported' : `render queue ${f.renderJobs} job(s)`);
  if (f.pagesPerSave !== null)
    parts.push(`${f.pagesPerSave.toFixed(2)} pages journaled per save (${f.savesRendered} saves rendered)`);
  return parts.join('; ');
}
