import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../common/config';
import { createLocale, LOCALES_DIR, newsSitemapLanguage, readLocaleFile, shippedLanguages } from './locale';
import { createRenderer } from './renderer';

const TEMPLATES = path.join(__dirname, 'templates');
// 22:00 UTC on a Monday in December: 23:00 in Berlin, the next day in Beirut.
const AT = Date.UTC(2026, 11, 7, 22, 0);

test('every shipped locale has exactly the strings the English one has, none empty', () => {
  const english = Object.keys(readLocaleFile('en').strings).sort();
  assert.ok(shippedLanguages().length >= 3, `shipped: ${shippedLanguages().join(', ')}`);
  for (const language of shippedLanguages()) {
    const file = readLocaleFile(language);
    assert.deepEqual(Object.keys(file.strings).sort(), english, `${language}.json has the same keys as en.json`);
    for (const [key, text] of Object.entries(file.strings)) assert.ok(text.trim(), `${language}: ${key} is empty`);
    assert.ok(file.dir === 'ltr' || file.dir === 'rtl', `${language}: dir`);
    assert.doesNotThrow(() => new Intl.DateTimeFormat(file.intl), `${language}: intl ${file.intl}`);
  }
});

test('every string a template names exists in the English locale file', () => {
  const strings = readLocaleFile('en').strings;
  const named = new Set<string>();
  for (const file of fs.readdirSync(TEMPLATES).filter((f) => f.endsWith('.njk'))) {
    const text = fs.readFileSync(path.join(TEMPLATES, file), 'utf8');
    for (const m of text.matchAll(/\bth?\('([^']+)'/g)) named.add(m[1]);
  }
  assert.ok(named.size > 40, `found ${named.size} keys`);
  for (const key of named) assert.ok(key in strings || key.endsWith('.'), `templates use ${key}, missing from en.json`);
});

test('a language without a locale file is a configuration error naming SITE_LANGUAGE and the shipped ones', () => {
  assert.throws(
    () => createLocale('de', 'UTC'),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.variable === 'SITE_LANGUAGE' &&
      /no locale file for "de".*shipped: ar, en, fr/.test(error.message),
  );
  assert.throws(() => createRenderer({ name: 'x', publicUrl: 'http://x', language: 'xx' }), ConfigError);
  assert.equal(readLocaleFile('fr-CA', LOCALES_DIR).intl, 'fr-FR', 'a regional code falls back to its language');
});

test('dates and times are shown in the site zone with its abbreviation or offset, in the language', () => {
  const berlin = createLocale('en', 'Europe/Berlin');
  assert.equal(berlin.dateTime(AT), 'Mon, 7 December 2026 at 23:00 CET');
  assert.equal(berlin.date(AT), '7 December 2026');
  assert.equal(createLocale('en', 'UTC').dateTime(AT), 'Mon, 7 December 2026 at 22:00 UTC');
  assert.equal(createLocale('en-US', 'America/New_York').dateTime(AT), 'Mon, December 7, 2026 at 05:00 PM EST');
  assert.equal(createLocale('fr', 'Europe/Paris').dateTime(AT), 'lun. 7 décembre 2026 à 23:00 UTC+1');
  assert.equal(createLocale('fr', 'UTC').month('2026-12'), 'décembre 2026');
  // Beirut is already on the 8th: the date shown is the zone's, not UTC's.
  assert.match(createLocale('ar', 'Asia/Beirut').date(AT), /^8 /);
});

test('a <time datetime> carries the wall time in the site zone with its offset at that instant', () => {
  assert.equal(createLocale('en', 'Europe/Berlin').zonedIso(AT), '2026-12-07T23:00:00+01:00');
  assert.equal(createLocale('en', 'Europe/Berlin').zonedIso(Date.UTC(2026, 6, 1, 12)), '2026-07-01T14:00:00+02:00');
  assert.equal(createLocale('en', 'America/St_Johns').zonedIso(AT), '2026-12-07T18:30:00-03:30');
  assert.equal(createLocale('en', 'UTC').zonedIso(AT), '2026-12-07T22:00:00Z');
  // Each is the same instant.
  for (const zone of ['Europe/Berlin', 'America/St_Johns', 'Asia/Kolkata', 'UTC'])
    assert.equal(Date.parse(createLocale('en', zone).zonedIso(AT)), AT, zone);
});

test('pages carry lang and dir, print their strings in the language, and escape values in markup strings', () => {
  const arabic = createRenderer({ name: 'أخبار <b>', publicUrl: 'http://x', language: 'ar' });
  const page = arabic.render('404.njk', {});
  assert.match(page, /<html lang="ar" dir="rtl">/);
  assert.match(page, /<h1>الصفحة غير موجودة<\/h1>/);
  assert.match(page, /أخبار &lt;b&gt;/);
  assert.doesNotMatch(page, /Page not found/);

  const french = createRenderer({
    name: 'Le <Journal>',
    publicUrl: 'http://x',
    language: 'fr',
    timeZone: 'Europe/Paris',
  });
  const mirrors = french.render('mirrors.njk', {
    mirrors: [{ url: 'https://m.example', kind: 'onion' }],
    signed: AT,
    jsonPath: '/mirrors.json',
  });
  assert.match(mirrors, /<html lang="fr" dir="ltr">/);
  assert.match(mirrors, /Service onion \(Navigateur Tor\)/);
  assert.match(
    mirrors,
    /La copie signée se trouve à l’adresse <a href="\/mirrors.json">\/mirrors.json<\/a>, signée le <time datetime="2026-12-07T23:00:00\+01:00">lun\. 7 décembre 2026 à 23:00 UTC\+1<\/time>/,
  );
  assert.match(mirrors, /Le &lt;Journal&gt;/);
});

test('a news sitemap names the language as Google News asks: the ISO 639 code, zh-cn or zh-tw for Chinese', () => {
  assert.equal(newsSitemapLanguage('fr-CA'), 'fr');
  assert.equal(newsSitemapLanguage('en'), 'en');
  assert.equal(newsSitemapLanguage('ar'), 'ar');
  assert.equal(newsSitemapLanguage('zh-Hans-CN'), 'zh-cn');
  assert.equal(newsSitemapLanguage('zh-TW'), 'zh-tw');
  assert.equal(newsSitemapLanguage('zh-Hant'), 'zh-tw');
});
