// The rebuild's last phase: the search index's files, rendered from the
// search tables the item phases filled (producer/search-index.ts). Every
// term shard, then every metadata file, a slice per batch, so memory holds
// one slice; each batch journals the root naming what is live by then, and
// only changed bytes are journaled (a rebuild of a consistent site writes
// none).
import { TERM_SHARDS } from '../common/search-index-format';
import { advance, commitBatch, Position, RebuildRun } from './rebuild-run';
import { allDocFiles, renderSearchFiles } from './search-index';

const SHARDS_PER_BATCH = 64;
const FILES_PER_BATCH = 200;

/** Cursor `shards:N`: term shards from N on; `files:N`: metadata files after file N (-1: from the first). */
export async function searchBatch(run: RebuildRun, next: Position): Promise<void> {
  const [part, at] = run.state.cursor.split(':');
  const from = Number(at);
  if (part === 'shards') {
    const shards = Array.from({ length: Math.min(SHARDS_PER_BATCH, TERM_SHARDS - from) }, (_, i) => from + i);
    const following = from + SHARDS_PER_BATCH >= TERM_SHARDS ? 'files:-1' : `shards:${from + SHARDS_PER_BATCH}`;
    return commitBatch(run, { phase: 'search', cursor: following }, (trx) =>
      renderSearchFiles(trx, { shards, files: [] }, run.now()),
    );
  }
  const files = (await allDocFiles(run.db)).filter((f) => f > from).slice(0, FILES_PER_BATCH);
  if (files.length === 0) return advance(run, next);
  return commitBatch(run, { phase: 'search', cursor: `files:${files[files.length - 1]}` }, (trx) =>
    renderSearchFiles(trx, { shards: [], files }, run.now()),
  );
}
