// The public site's language (SITE_LANGUAGE) and time zone (SITE_TIME_ZONE):
// every string a template prints comes from a locale file
// (producer/locales/LANG.json), and every date it shows is formatted by Intl
// for that language, in that zone. Machine formats (feeds, sitemaps, JSON-LD)
// stay in UTC and ISO 8601; a <time datetime> carries the zone's offset.
//
// A locale file is { "dir": "ltr" | "rtl", "intl": BCP 47 tag used for a bare
// language code, "strings": { key: text } }; a text names its values as
// {name}. A language with no file is a configuration error naming
// SITE_LANGUAGE, raised when the renderer is made (at process start).
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../common/config';
import { wallTime } from '../common/wall-time';

export const LOCALES_DIR = path.join(__dirname, 'locales');

export interface LocaleFile {
  dir: 'ltr' | 'rtl';
  intl: string;
  strings: Record<string, string>;
}

export interface Locale {
  /** The `lang` attribute: SITE_LANGUAGE as configured. */
  lang: string;
  /** The BCP 47 tag dates are formatted with (a bare language gets its file's, "en" → "en-GB"): for the page's scripts. */
  intl: string;
  dir: 'ltr' | 'rtl';
  /** A string by key with its {name} values filled in; an unknown key throws (a template bug). */
  t(key: string, values?: Record<string, unknown>): string;
  /** An instant as a date in the site's zone: "7 December 2026". */
  date(ms: number): string;
  /** An instant as a date and time in the site's zone, with the zone's abbreviation or offset. */
  dateTime(ms: number): string;
  /** A bucket's month ("2026-12") by name: "December 2026". */
  month(month: string): string;
  /** An instant as RFC 3339 with the site zone's offset at that instant, for <time datetime>. */
  zonedIso(ms: number): string;
}

/** The languages that have a locale file. */
export function shippedLanguages(dir = LOCALES_DIR): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/** The locale file for `language`: its own ("pt-br.json") or its base language's ("pt.json"). */
export function readLocaleFile(language: string, dir = LOCALES_DIR): LocaleFile {
  const lower = language.toLowerCase();
  for (const name of [lower, lower.split('-')[0]]) {
    const file = path.join(dir, `${name}.json`);
    if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as LocaleFile;
  }
  throw new ConfigError(
    'SITE_LANGUAGE',
    `no locale file for ${JSON.stringify(language)} in producer/locales (shipped: ${shippedLanguages(dir).join(', ')})`,
  );
}

/**
 * The language a Google News sitemap names (`<news:language>`): an ISO 639
 * code, the language subtag alone ("fr-CA" is "fr"), except Chinese, which
 * it wants as zh-cn (simplified) or zh-tw (traditional).
 */
export function newsSitemapLanguage(language: string): string {
  const subtags = language.toLowerCase().split(/[-_]/);
  if (subtags[0] !== 'zh') return subtags[0];
  return subtags.some((s) => s === 'hant' || s === 'tw' || s === 'hk' || s === 'mo') ? 'zh-tw' : 'zh-cn';
}

export function createLocale(language: string, timeZone: string, dir = LOCALES_DIR): Locale {
  const file = readLocaleFile(language, dir);
  // A bare code takes the file's default region ("en" dates read "7 December 2026"); "en-US" is honoured.
  const intl = language.includes('-') ? language : file.intl;
  // Intl formatters are built once: toLocale*String builds one per call, which dominated rebuild profiles.
  const date = new Intl.DateTimeFormat(intl, { day: 'numeric', month: 'long', year: 'numeric', timeZone });
  const dateTime = new Intl.DateTimeFormat(intl, {
    weekday: 'short',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZone,
    timeZoneName: 'short',
  });
  // Bucket months are calendar months in UTC (common/site-paths.ts, monthOf).
  const month = new Intl.DateTimeFormat(intl, { month: 'long', year: 'numeric', timeZone: 'UTC' });
  const { strings } = file;
  return {
    lang: language,
    intl,
    dir: file.dir === 'rtl' ? 'rtl' : 'ltr',
    t(key, values) {
      const text = strings[key];
      if (text === undefined) throw new Error(`no string ${JSON.stringify(key)} in the ${language} locale file`);
      return values ? text.replace(/\{(\w+)\}/g, (all, name: string) => String(values[name] ?? all)) : text;
    },
    date: (ms) => date.format(ms),
    dateTime: (ms) => dateTime.format(ms),
    month(value) {
      const m = /^(\d{4})-(\d{2})$/.exec(value);
      return m ? month.format(Date.UTC(Number(m[1]), Number(m[2]) - 1, 15)) : value;
    },
    zonedIso(ms) {
      const local = wallTime(ms, timeZone);
      // The offset is the wall time's distance from the instant, whole seconds (Intl drops milliseconds).
      const offsetMin = Math.round((Date.parse(`${local}Z`) - Math.floor(ms / 1000) * 1000) / 60_000);
      if (offsetMin === 0) return `${local}Z`;
      const abs = Math.abs(offsetMin);
      const hh = String(Math.floor(abs / 60)).padStart(2, '0');
      const mm = String(abs % 60).padStart(2, '0');
      return `${local}${offsetMin < 0 ? '-' : '+'}${hh}:${mm}`;
    },
  };
}
