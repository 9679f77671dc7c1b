// What `hyperstatic mirrors add|remove|sign` do to the database: change the
// `mirror_list` table, sign the whole list with this origin's site key at the
// current epoch (common/trust/mirror-list.ts), and journal /mirrors.json and
// the /mirrors page (producer/mirror-list-page.ts) in one transaction under
// the journal lock, like any producer batch. Mirrors then receive both
// through the feed like every other page (docs/trust.md, "The mirror list").
// Bad input throws before anything is written.
import type { Knex } from 'knex';
import type { Database } from '../../common/db/database';
import {
  MirrorEntryError,
  MIRRORS_MAX,
  normalizeUrl,
  parseMirrorEntry,
  signMirrorList,
  type MirrorEntry,
} from '../../common/trust/mirror-list';
import type { SiteSigner } from '../../common/trust/statements';
import type { Renderer } from '../../producer/renderer';

export interface PublishDeps {
  db: Database;
  renderer: Renderer;
  /** This origin's site key (FEED_SIGNING_KEY). */
  signer: SiteSigner;
  /** PUBLIC_URL: the site the list belongs to. */
  site: string;
  now?: () => number;
}

export interface PublishResult {
  mirrors: MirrorEntry[];
  /** Journal head after the batch; undefined when nothing changed. */
  head?: number;
  key: string;
  epoch: number;
  issued: number;
  /** Said on stderr: the list is signed, but readers could not verify it yet. */
  warnings: string[];
}

export type MirrorChange =
  | { op: 'add'; entry: { url: string; kind?: string; region?: string; note?: string }; actor: string }
  | { op: 'remove'; url: string }
  | { op: 'sign' };

/** Applies one change and publishes the newly signed list; throws MirrorEntryError (nothing written) on bad input. */
export async function publishMirrorList(deps: PublishDeps, change: MirrorChange): Promise<PublishResult> {
  const { lockJournal, writePages } =
    require('../../producer/change-journal') as typeof import('../../producer/change-journal');
  const { loadMirrorList, mirrorListJsonPage, renderMirrorsPage } =
    require('../../producer/mirror-list-page') as typeof import('../../producer/mirror-list-page');
  const { loadTrustBundle } =
    require('../../app/feed/trust-statements') as typeof import('../../app/feed/trust-statements');
  // Checked before the transaction: a refused entry never takes the journal lock.
  const entry = change.op === 'add' ? parseMirrorEntry(change.entry) : undefined;
  const removing = change.op === 'remove' ? normalizeUrl(change.url) : undefined;
  const issued = (deps.now ?? Date.now)();
  return deps.db.transaction(async (trx: Knex.Transaction) => {
    const lock = await lockJournal(trx);
    const start = lock.head;
    if (entry) await insertEntry(trx, entry, change.op === 'add' ? change.actor : '', issued);
    if (removing !== undefined && (await trx('mirror_list').where({ url: removing }).delete()) === 0)
      throw new MirrorEntryError('url', `${removing} is not in the list (\`hyperstatic mirrors list\` shows it)`);
    const mirrors = await loadMirrorList(trx);
    const trust = await loadTrustBundle(trx, issued);
    const list = signMirrorList({ site: deps.site, issued, mirrors }, deps.signer, lock.epoch, trust);
    const body = Buffer.from(`${JSON.stringify(list, null, 2)}\n`);
    await writePages(
      trx,
      lock,
      [mirrorListJsonPage(body, issued), renderMirrorsPage(deps.renderer, mirrors, issued, issued)],
      issued,
    );
    return {
      mirrors,
      head: lock.head === start ? undefined : lock.head,
      key: deps.signer.keyId,
      epoch: lock.epoch,
      issued,
      warnings: coverageWarnings(list.trust.delegations, lock.epoch, issued),
    };
  });
}

async function insertEntry(trx: Knex.Transaction, entry: MirrorEntry, actor: string, at: number): Promise<void> {
  if (await trx('mirror_list').where({ url: entry.url }).first('id'))
    throw new MirrorEntryError('url', `${entry.url} is already in the list (remove it first to change it)`);
  const count = Number((await trx('mirror_list').count({ n: '*' }))[0].n);
  if (count >= MIRRORS_MAX) throw new MirrorEntryError('url', `the list already holds ${MIRRORS_MAX} places`);
  await trx('mirror_list').insert({ ...entry, added_at: at, added_by: actor.slice(0, 200) });
}

/** A list signed by a key no delegation covers is signed, but no reader can verify it: say so. */
function coverageWarnings(
  delegations: ReturnType<typeof signMirrorList>['trust']['delegations'],
  epoch: number,
  at: number,
): string[] {
  const covered = delegations.some(
    ({ statement: d }) =>
      d.epochs.from <= epoch && (d.epochs.to === null || epoch <= d.epochs.to) && d.issued <= at && at < d.expires,
  );
  return covered
    ? []
    : [
        `no installed delegation covers this site's key at epoch ${epoch}: readers cannot verify the list until one is installed and the list signed again (\`hyperstatic mirrors sign\`; docs/trust.md, "Key ceremony")`,
      ];
}
