// The news sitemap (/sitemaps/news.xml) lists articles of the last 48 hours:
// it changes when an article ages out, with no save behind it. The producer
// keeps a 'news' listing entry per article in the window (index_entries,
// sort_at = its publication time); once an entry is older than the window
// this source owes a render for its article (an outbox row, as a save
// would), and the render, judging by its own clock, drops the article from
// the sitemap. An entry already owed a render since it aged out is not owed
// again, so a producer that renders late is not flooded.
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';
import { NEWS_WINDOW_MS } from '../../common/site-paths';
import { oweRenders } from '../outbox/outbox';
import type { DueSource } from './scheduler';

function agedOutUnowed(db: Knex | Knex.Transaction) {
  return db('index_entries as e')
    .where('e.index_key', 'news')
    .whereNotExists(function owed() {
      this.select(db.raw('1'))
        .from('outbox as o')
        .whereRaw('o.topic = e.topic and o.item_id = e.item_id and o.created_at >= e.sort_at + ?', [NEWS_WINDOW_MS]);
    });
}

export function newsAgeOut(db: Database): DueSource {
  return {
    name: 'news sitemap age-out',
    async next() {
      const row = await agedOutUnowed(db).min({ at: 'e.sort_at' }).first();
      return row?.at == null ? null : Number(row.at) + NEWS_WINDOW_MS;
    },
    async apply(at) {
      return db.transaction(async (trx) => {
        const rows = await agedOutUnowed(trx)
          .where('e.sort_at', '<=', at - NEWS_WINDOW_MS)
          .select('e.topic', 'e.item_id')
          .limit(500);
        await oweRenders(
          trx,
          rows.map((r) => ({ topic: r.topic as 'article', itemId: Number(r.item_id) })),
          at,
        );
        return rows.length;
      });
    },
  };
}
