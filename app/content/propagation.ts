// The propagation panel: after a save, where has the item's new version
// reached? Render state comes from the outbox (queued, rendered), the live
// version from the pages table (its journal sequence number), and each
// mirror's reach from the cursor it last reported (app/feed/mirror-status).
// A mirror whose cursor is at or past the page's sequence serves it.
//
// While the save still waits for a renderer it has reached no mirror, but no
// mirror is lagging either: the panel says "queued N s" and how long the
// render backlog is (issue 23: a burst of saves waits its turn, and "lagging"
// sent editors to look at healthy mirrors).
import type { Database } from '../../common/db/database';
import type { RenderJob } from '../../common/queue/render-queue';
import { RenderBacklog, renderBacklog } from '../../common/render-backlog';
import { mirrorStatuses } from '../feed/mirror-status';

export interface MirrorReach {
  name: string;
  live: boolean;
  /** `live`; `queued`: this save is not rendered yet, so no mirror can have it; `lagging`: rendered, not yet here. */
  state: 'live' | 'queued' | 'lagging';
  /** Seconds the mirror has been behind this version (0 when live). */
  lagSeconds: number;
  reporting: boolean;
}

export interface Propagation {
  path: string;
  render: 'queued' | 'rendered' | 'unknown';
  queuedSeconds: number | null;
  /** While this save is queued: how many saves wait to be rendered and the oldest one's age; null once rendered. */
  backlog: RenderBacklog | null;
  /** The live version: journal sequence number and what it is (put: page, gone: 410 tombstone). */
  seq: number | null;
  op: string | null;
  renderedAt: number | null;
  mirrors: MirrorReach[] | null;
  liveCount: number;
  summary: string;
}

const STALE_REPORT_SECONDS = 60;

/** The item whose public page is followed: its outbox topic, id and page path. */
export interface PropagatedItem {
  topic: RenderJob['topic'];
  id: number;
  url: string;
}

export async function propagationOf(db: Database, item: PropagatedItem, now = Date.now()): Promise<Propagation> {
  const path = item.url;
  const outbox = await db('outbox')
    .where({ topic: item.topic, item_id: item.id })
    .orderBy('id', 'desc')
    .first('created_at', 'done_at');
  const render: Propagation['render'] = !outbox ? 'unknown' : outbox.done_at == null ? 'queued' : 'rendered';
  const page = await db('pages').where({ path }).first('seq', 'op', 'last_modified');
  const seq = page ? Number(page.seq) : null;
  const journal = seq === null ? undefined : await db('journal').where({ seq }).first('created_at');
  const renderedAt = journal ? Number(journal.created_at) : null;
  const queuedSeconds = render === 'queued' && outbox ? Math.round((now - Number(outbox.created_at)) / 1000) : null;

  let mirrors: MirrorReach[] | null = null;
  try {
    mirrors = (await mirrorStatuses(db, now)).map((m) => {
      const live = seq !== null && m.cursor >= seq;
      return {
        name: m.name,
        live,
        state: render === 'queued' ? 'queued' : live ? 'live' : 'lagging',
        lagSeconds: live || renderedAt === null ? 0 : Math.max(0, Math.round((now - renderedAt) / 1000)),
        reporting: m.ageSeconds <= STALE_REPORT_SECONDS,
      };
    });
  } catch {
    // No mirror status yet (an origin whose mirrors do not report): say so rather than fail the page.
    mirrors = null;
  }
  const liveCount = mirrors?.filter((m) => m.live).length ?? 0;
  const backlog = render === 'queued' ? await renderBacklog(db, now) : null;
  return {
    path,
    render,
    queuedSeconds,
    backlog,
    seq,
    op: page ? (page.op as string) : null,
    renderedAt,
    mirrors,
    liveCount,
    summary:
      render === 'queued'
        ? queuedSummary(queuedSeconds ?? 0, backlog)
        : summarize(render, seq, mirrors, liveCount, page ? (page.op as string) : null),
  };
}

/** A save still waiting for a renderer: how long, behind how many. */
export function queuedSummary(queuedSeconds: number, backlog: RenderBacklog | null): string {
  const waiting = backlog && backlog.waitingSaves > 1 ? backlog : null;
  return waiting
    ? `saved; queued ${queuedSeconds} s: ${waiting.waitingSaves} saves wait to be rendered, the oldest for ${Math.round(waiting.oldestSeconds)} s`
    : `saved; queued ${queuedSeconds} s for the renderer`;
}

export function summarize(
  render: Propagation['render'],
  seq: number | null,
  mirrors: MirrorReach[] | null,
  liveCount: number,
  op: string | null = 'put',
): string {
  if (render === 'queued') return 'saved; waiting for the renderer';
  if (seq === null) return 'not on the public site (never published)';
  if (mirrors === null || mirrors.length === 0) return 'rendered; no mirror has reported its status';
  const lagging = mirrors.filter((m) => !m.live);
  // A hidden item's page is a 410 tombstone: what spreads is its removal.
  const parts = [`${op === 'gone' ? 'removed (410)' : 'live'} on ${liveCount}/${mirrors.length} mirrors`];
  if (lagging.length > 0) parts.push(`${lagging.length} lagging ${Math.max(...lagging.map((m) => m.lagSeconds))} s`);
  const silent = mirrors.filter((m) => !m.reporting).length;
  if (silent > 0) parts.push(`${silent} not reporting`);
  return parts.join(', ');
}
