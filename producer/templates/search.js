// Reader search (docs/design.md, "Reader search"). Runs in the reader's
// browser and reads the index files of whichever mirror served the page
// (same origin: the mirror's CSP allows script-src and connect-src 'self'),
// never the origin: the root /search/index.json, one term shard per distinct
// word, then the metadata files of the best results. searchTerms and
// shardOf are those of common/search-index-format.ts, in plain JavaScript
// (common/search-index-format.test.ts runs both on the same text).
/* global document, location, fetch, URLSearchParams */
'use strict';

var SEARCH_RESULTS = 20;
var SEARCH_TERM_SHARDS = 512;
var SEARCH_DOCS_PER_FILE = 64;

function searchTerms(text) {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(function (t) {
      return t.length > 1 && t.length <= 40;
    });
}

function shardOf(term) {
  var h = 0x811c9dc5;
  for (var i = 0; i < term.length; i++) {
    h ^= term.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % SEARCH_TERM_SHARDS;
}

function searchUnique(values) {
  return values.filter(function (v, i) {
    return values.indexOf(v) === i;
  });
}

async function searchGet(path, reload) {
  var response = await fetch(path, { cache: reload ? 'reload' : 'default', credentials: 'same-origin' });
  if (!response.ok) {
    var error = new Error(path + ' answered ' + response.status);
    error.status = response.status;
    throw error;
  }
  return response.json();
}

/** The best results for `query`: items holding more of its words first, then by BM25 score. */
async function searchIndex(query, reload) {
  var terms = searchUnique(searchTerms(query));
  if (terms.length === 0) return [];
  var root = await searchGet('/search/index.json', reload);
  var shards = searchUnique(terms.map(shardOf));
  var loaded = {};
  await Promise.all(
    shards.map(async function (s) {
      loaded[s] = root.shards[s] ? await searchGet('/assets/search/terms-' + s + '-' + root.shards[s] + '.json') : {};
    }),
  );
  var scores = new Map();
  terms.forEach(function (term) {
    var postings = Object.prototype.hasOwnProperty.call(loaded[shardOf(term)], term)
      ? loaded[shardOf(term)][term]
      : null;
    if (!postings) return;
    var df = postings[0];
    var idf = Math.log(1 + (root.docs - df + 0.5) / (df + 0.5));
    for (var i = 1; i < postings.length; i += 2) {
      var hit = scores.get(postings[i]) || { doc: postings[i], words: 0, score: 0 };
      hit.words += 1;
      hit.score += (idf * postings[i + 1]) / 100;
      scores.set(postings[i], hit);
    }
  });
  var best = Array.from(scores.values())
    .sort(function (a, b) {
      return b.words - a.words || b.score - a.score || a.doc - b.doc;
    })
    .slice(0, SEARCH_RESULTS);
  var files = {};
  await Promise.all(
    searchUnique(
      best.map(function (hit) {
        return Math.floor(hit.doc / SEARCH_DOCS_PER_FILE);
      }),
    ).map(async function (f) {
      files[f] = await searchGet('/search/docs/' + f + '.json').catch(function () {
        return {};
      });
    }),
  );
  return best
    .map(function (hit) {
      var entry = files[Math.floor(hit.doc / SEARCH_DOCS_PER_FILE)][String(hit.doc)];
      return entry && { url: entry[0], title: entry[1], date: entry[2], summary: entry[3] };
    })
    .filter(Boolean);
}

function searchResultItem(result) {
  var li = document.createElement('li');
  var heading = document.createElement('h2');
  var link = document.createElement('a');
  link.href = result.url;
  link.textContent = result.title;
  heading.appendChild(link);
  li.appendChild(heading);
  if (result.date) {
    var time = document.createElement('time');
    time.dateTime = result.date;
    // In the site's own date format and time zone (search.njk gives its Intl tag and zone), as the pages print dates.
    var status = document.getElementById('search-status');
    var intl = (status && status.dataset.intl) || document.documentElement.lang || undefined;
    var options = { year: 'numeric', month: 'long', day: 'numeric' };
    if (status && status.dataset.timeZone) options.timeZone = status.dataset.timeZone;
    time.textContent = new Date(result.date).toLocaleDateString(intl, options);
    var meta = document.createElement('p');
    meta.className = 'meta';
    meta.appendChild(time);
    li.appendChild(meta);
  }
  if (result.summary) {
    var summary = document.createElement('p');
    summary.textContent = result.summary;
    li.appendChild(summary);
  }
  return li;
}

async function startSearch() {
  var query = new URLSearchParams(location.search).get('q') || '';
  var input = document.getElementById('q');
  var status = document.getElementById('search-status');
  var list = document.getElementById('search-results');
  if (!input || !status || !list) return;
  input.value = query;
  if (!query.trim()) return;
  // The page gives the words in the site's language (search.njk); {query} and {count} are filled in here.
  var say = function (key, count) {
    return (status.dataset[key] || '').replace('{query}', query).replace('{count}', String(count));
  };
  status.textContent = say('searching');
  var results;
  try {
    results = await searchIndex(query, false);
  } catch {
    // A root older than the shards it names (a new batch arrived meanwhile): read it again once.
    try {
      results = await searchIndex(query, true);
    } catch {
      status.textContent = say('unavailable');
      return;
    }
  }
  list.replaceChildren.apply(list, results.map(searchResultItem));
  status.textContent = say(results.length === 0 ? 'none' : results.length === 1 ? 'one' : 'many', results.length);
}

if (typeof document !== 'undefined') {
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', startSearch);
  else startSearch();
}
