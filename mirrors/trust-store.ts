// What a mirror has learned about trust (docs/trust.md), kept in its SQLite
// index so a restart forgets no revocation, no epoch a trusted key vouched
// for, and not when it last heard a valid heartbeat (a mirror restarted
// while cut off must still say it is frozen).
import { parseHeartbeat, parseSigned, type Heartbeat, type KeyId, type Signed } from '../common/trust/statements';
import type { TrustStorage } from '../common/trust/trust-state';
import type { SqliteDatabase } from './sqlite';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS trust_statements (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  body TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS trust_epochs (
  key TEXT PRIMARY KEY,
  epoch INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS trust_heartbeat (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  body TEXT NOT NULL
);
`;

export function sqliteTrustStorage(db: SqliteDatabase): TrustStorage {
  db.exec(SCHEMA);
  const insertStatement = db.prepare('INSERT OR IGNORE INTO trust_statements (body) VALUES (?)');
  const allStatements = db.prepare<{ body: string }>('SELECT body FROM trust_statements ORDER BY id');
  const putMark = db.prepare(
    'INSERT INTO trust_epochs (key, epoch) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET epoch = MAX(epoch, excluded.epoch)',
  );
  const allMarks = db.prepare<{ key: string; epoch: number }>('SELECT key, epoch FROM trust_epochs');
  const putHeartbeat = db.prepare('INSERT OR REPLACE INTO trust_heartbeat (id, body) VALUES (1, ?)');
  const getHeartbeat = db.prepare<{ body: string }>('SELECT body FROM trust_heartbeat WHERE id = 1');
  return {
    statements: (): Signed[] => allStatements.all().map((r) => parseSigned(JSON.parse(r.body))),
    addStatement: (signed) => void insertStatement.run(JSON.stringify(signed)),
    epochMarks: () => new Map<KeyId, number>(allMarks.all().map((r) => [r.key, r.epoch])),
    setEpochMark: (key, epoch) => void putMark.run(key, epoch),
    heartbeat: (): Heartbeat | undefined => {
      const row = getHeartbeat.get();
      return row ? parseHeartbeat(JSON.parse(row.body)) : undefined;
    },
    setHeartbeat: (heartbeat) => void putHeartbeat.run(JSON.stringify(heartbeat)),
  };
}
