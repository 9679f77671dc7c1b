// The reader search index as files on the site (docs/design.md, "Reader
// search"): what the producer writes and the browser script
// (producer/templates/search.js) reads. The script repeats searchTerms and
// shardOf in plain JavaScript; common/search-index-format.test.ts runs both
// on the same text, so the two never drift apart. Pure.

/** Where the search form lives, and the stable root file naming the current shards. */
export const SEARCH_PATH = '/search';
export const SEARCH_ROOT_PATH = '/search/index.json';
/** Term shards: a term lives in shard shardOf(term); a query fetches one shard per distinct term. */
export const TERM_SHARDS = 512;
/** Postings kept per term, best first (static pruning): bounds a shard whatever the site's size. */
export const TOP_POSTINGS = 100;
/** Documents per metadata file (titles, dates, summaries, links). */
export const DOCS_PER_FILE = 64;
/** Title words count this many times (a word in the title says more than one in the body). */
export const TITLE_WEIGHT = 3;
/** BM25's parameters (Robertson and Zaragoza, "The Probabilistic Relevance Framework", §3.4). */
export const BM25_K1 = 1.2;
export const BM25_B = 0.75;
/**
 * BM25's average document length, fixed rather than the site's running mean:
 * an item's scores then depend on the item alone, so indexing it again (a
 * rebuild) writes the same bytes, and a new item never rescores the others.
 */
export const REFERENCE_LENGTH = 400;
const MAX_TERM_LENGTH = 40;

/** Content-hashed like the stylesheet, so caches keep it for good and a new index gets new paths. */
export function termShardPath(shard: number, hash: string): string {
  return `/assets/search/terms-${shard}-${hash}.json`;
}

export function docsFilePath(file: number): string {
  return `/search/docs/${file}.json`;
}

/**
 * Words of a text as the index stores them: Unicode compatibility
 * decomposition (NFKD, so "ﬁ" is "fi" and full-width digits are digits),
 * combining marks dropped (diacritics: "café" is "cafe"), lower case, split
 * on anything that is not a letter or a digit. Words of one character and
 * runs longer than 40 are left out.
 */
export function searchTerms(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t.length > 1 && t.length <= MAX_TERM_LENGTH);
}

/** FNV-1a over the term's UTF-16 code units, modulo TERM_SHARDS. */
export function shardOf(term: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < term.length; i++) {
    h ^= term.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % TERM_SHARDS;
}

/** One number per item: articles even, events odd. */
export function docKey(topic: 'article' | 'event', id: number): number {
  return id * 2 + (topic === 'event' ? 1 : 0);
}

export function docsFileOf(doc: number): number {
  return Math.floor(doc / DOCS_PER_FILE);
}

/**
 * The BM25 term-frequency part of each word's score in one document,
 * ×100 and rounded (the shards store integers); the reader's browser
 * multiplies it by the word's IDF from the shard's document frequency.
 */
export function termScores(title: string, text: string): { scores: Map<string, number>; length: number } {
  const counts = new Map<string, number>();
  const titleTerms = searchTerms(title);
  const textTerms = searchTerms(text);
  for (const t of titleTerms) counts.set(t, (counts.get(t) ?? 0) + TITLE_WEIGHT);
  for (const t of textTerms) counts.set(t, (counts.get(t) ?? 0) + 1);
  const length = titleTerms.length * TITLE_WEIGHT + textTerms.length;
  const norm = BM25_K1 * (1 - BM25_B + (BM25_B * length) / REFERENCE_LENGTH);
  const scores = new Map<string, number>();
  for (const [t, tf] of counts) scores.set(t, Math.max(1, Math.round((100 * tf * (BM25_K1 + 1)) / (tf + norm))));
  return { scores, length };
}
