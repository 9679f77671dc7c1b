// A producer killed with SIGKILL in the middle of a coalesced group, on
// MariaDB and real Redis (docs/design.md, "Publish path"): its claim lapses,
// the relay dispatches the saves again and another producer renders the
// whole group; nothing acknowledged is lost.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createLogger } from '../../common/logger';
import { startProducer } from '../../producer/main';
import { sharedRedisUrl } from '../harness/shared';
import { waitFor } from '../harness/wait';
import { assertConsistent, burst, journalHead, page, settled, Site, startSite } from './producer-helpers';

const ROOT = path.resolve(__dirname, '../..');

describe('producer: a group interrupted by SIGKILL', () => {
  let s: Site | undefined;
  after(async () => {
    await s?.close().catch(() => undefined);
  });

  it('a producer killed with SIGKILL mid-group loses nothing: its claim lapses and the group is rendered again', async () => {
    const site = await startSite('groupskill', await sharedRedisUrl(), { producer: false });
    s = site;
    const saved = await burst(s, 60, 4, 'Dispatch');
    await s.db('articles').update({ body: `<p>${'many words '.repeat(6000)}</p>` });
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/hyperstatic.js'), 'producer', '--port', '0'], {
      env: {
        ...process.env,
        DATABASE_URL: s.config.databaseUrl,
        REDIS_URL: s.config.redisUrl,
        REDIS_PREFIX: s.config.redisPrefix,
        LOG_LEVEL: 'silent',
        PRODUCER_GROUP_ITEMS: '500',
      },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let claimed: { id: number; claimed_by: string }[];
    try {
      claimed = await waitFor(
        async () => {
          const rows = await site.db('outbox').whereNotNull('claimed_by').select('id', 'claimed_by');
          return rows.length > 0 ? rows : undefined;
        },
        { what: 'the child producer to claim the burst', timeoutMs: 30_000, intervalMs: 2 },
      );
      child.kill('SIGKILL');
      await exited;
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const token = claimed[0].claimed_by;
    const left = await s.db('outbox').where({ claimed_by: token }).whereNull('done_at').count({ n: '*' });
    assert.ok(Number(left[0].n) > 0, 'the producer died with its group claimed and not journaled');

    const head = await journalHead(s.db);
    s.producer = await startProducer(s.config, { logger: createLogger('silent', 'test') });
    await settled(s.db, 60_000);
    assert.ok((await journalHead(s.db)) > head, 'the group was rendered again');
    for (const a of saved) assert.equal((await page(s.db, a.url))?.op, 'put', `${a.url} is published`);
    const home = (await page(s.db, '/'))!.body;
    assert.match(home, /Dispatch/);
    const unsettled = await s
      .db('render_state')
      .whereNotNull('unindexed')
      .orWhereNotNull('staged_body')
      .count({ n: '*' });
    assert.equal(Number(unsettled[0].n), 0, 'every listing step reached its journal append');
    await assertConsistent(s);
  });
});
