// The database server's clock, for times several hosts compare (render
// claims' leases, producer/render-claims.ts): each host's own clock may be
// skewed, and a lease one producer thinks has lapsed may still be live for
// the producer holding it. Every host reading the one server's clock agrees.
import type { Knex } from 'knex';
import { dialectOf } from './database';

function nowSql(db: Knex | Knex.Transaction): string {
  return dialectOf(db) === 'mysql'
    ? // CURRENT_TIMESTAMP(3): milliseconds; UNIX_TIMESTAMP reads it in the session's zone, so the epoch is right.
      'CAST(UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000 AS SIGNED)'
    : "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";
}

/** Milliseconds since the epoch by the database's clock plus `offsetMs`, as an SQL expression. */
export function dbNowMs(db: Knex | Knex.Transaction, offsetMs = 0): Knex.Raw {
  return db.raw(`(${nowSql(db)} + ?)`, [Math.round(offsetMs)]);
}
