// What the public pages' header shows besides the site's name and its fixed
// links (Latest, Sections, Tags, Events): the public submission form while
// open publishing is on (read once per render group or rebuild batch), and,
// on the pages re-rendered whenever a section gains its first article or
// loses its last (home, /sections, /404.html: producer/affected-pages.ts), a
// link per section. Item and archive pages link /sections instead of
// listing the sections: a new section would otherwise change every page of
// the site, and the live site must stay equal to a fresh render of the
// database (docs/design.md, "Invariants").
//
// Open publishing is switched in the editor; pages rendered before the switch
// keep the link they had until `hyperstatic rebuild` (docs/operations.md).
import type { Knex } from 'knex';
import { indexRootPath } from '../common/site-paths';

type Db = Knex | Knex.Transaction;

/** Sections named in the header; more than this and the header links to /sections for the rest. */
export const NAV_SECTIONS = 8;

export interface ListingLink {
  slug: string;
  name: string;
  url: string;
}

export interface Chrome {
  /** Where readers submit a story; undefined while open publishing is off or no address is configured. */
  submitUrl?: string;
}

export async function loadChrome(db: Db, submitUrl: string | undefined): Promise<Chrome> {
  return { submitUrl: submitUrl && (await openPublishingOn(db)) ? submitUrl : undefined };
}

/** The header's section links, for the pages that list sections. */
export interface SectionsNav {
  links: ListingLink[];
  /** More sections exist than the header names: it links /sections for the rest. */
  more: boolean;
}

export async function sectionsNav(db: Db): Promise<SectionsNav> {
  const sections = await listingsWithArticles(db, 'section');
  return { links: sections.slice(0, NAV_SECTIONS), more: sections.length > NAV_SECTIONS };
}

/** Sections, tags or authors that have a public listing (at least one published item), by name. */
export async function listingsWithArticles(db: Db, kind: 'section' | 'tag' | 'author'): Promise<ListingLink[]> {
  const prefix = `${kind}:`;
  const table = { section: 'sections', tag: 'tags', author: 'users' }[kind];
  // An author is listed by display name (app/auth/people.ts), never by login name.
  const name = kind === 'author' ? db.raw('coalesce(display_name, name) as name') : 'name';
  const rows: { slug: string; name: string }[] = await db(table)
    .whereIn(
      'slug',
      db('index_buckets')
        .where('index_key', 'like', `${prefix}%`)
        .select(db.raw('substr(index_key, ?)', [prefix.length + 1])),
    )
    .orderBy(kind === 'author' ? 'display_name' : 'name')
    .orderBy('slug')
    .select('slug', name);
  return rows.map((r) => ({
    slug: String(r.slug),
    name: String(r.name),
    url: indexRootPath(`${kind}:${String(r.slug)}`),
  }));
}

/** The moderation setting the app keeps (app/moderation/settings.ts): anything but 'off' takes submissions; unset is 'held'. */
async function openPublishingOn(db: Db): Promise<boolean> {
  const row = await db('settings').where({ name: 'open_publishing' }).first('value');
  return row?.value !== 'off';
}
