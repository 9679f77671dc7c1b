import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import vm from 'node:vm';
import { DOCS_PER_FILE, searchTerms, shardOf, termScores, TERM_SHARDS } from './search-index-format';

const SCRIPT = path.join(__dirname, '../producer/templates/search.js');

/** The browser script's own functions and constants, run without a document. */
function scriptFunctions(): {
  searchTerms: (text: string) => string[];
  shardOf: (term: string) => number;
  constants: number[];
} {
  const context = vm.createContext({});
  vm.runInContext(fs.readFileSync(SCRIPT, 'utf8'), context);
  return vm.runInContext(
    '({ searchTerms, shardOf, constants: [SEARCH_TERM_SHARDS, SEARCH_DOCS_PER_FILE] })',
    context,
  ) as ReturnType<typeof scriptFunctions>;
}

const SAMPLES = [
  'Harbour vote DELAYED: objections pile up',
  'Café Ünïcödé — naïve façade, Ærø Straße',
  'ﬁnancial report ２０２６ and x',
  'Москва: «новости» дня',
  'a-b c_d e.f 3.14 O’Brien',
  '',
];

describe('search index format', () => {
  it('folds case, diacritics and compatibility forms, and splits on anything but letters and digits', () => {
    assert.deepEqual(searchTerms('Café Ünïcödé — naïve FAÇADE'), ['cafe', 'unicode', 'naive', 'facade']);
    assert.deepEqual(searchTerms('ﬁnancial ２０２６ x'), ['financial', '2026']);
    assert.deepEqual(searchTerms('Москва: «новости»'), ['москва', 'новости']);
  });

  it('the browser script tokenizes and shards exactly as the producer indexes', () => {
    const script = scriptFunctions();
    assert.deepEqual([...script.constants], [TERM_SHARDS, DOCS_PER_FILE]);
    for (const text of SAMPLES) {
      // JSON round trip: the vm's arrays come from another realm.
      assert.deepEqual(JSON.parse(JSON.stringify(script.searchTerms(text))), searchTerms(text), text);
      for (const term of searchTerms(text)) assert.equal(script.shardOf(term), shardOf(term), term);
    }
  });

  it('scores a word in the title above the same word once in the body, and a short item above a long one', () => {
    const { scores } = termScores('Harbour vote', 'the council met');
    assert.ok(scores.get('harbour')! > scores.get('council')!);
    const short = termScores('x', 'tide').scores.get('tide')!;
    const long = termScores('x', `tide ${'filler '.repeat(2000)}`).scores.get('tide')!;
    assert.ok(short > long);
  });

  it('spreads words over every shard', () => {
    const used = new Set(Array.from({ length: 20_000 }, (_, i) => shardOf(`word${i}`)));
    assert.equal(used.size, TERM_SHARDS);
  });
});
