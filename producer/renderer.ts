// nunjucks rendering of public pages. Autoescape is on: only article and
// event bodies, sanitized on save, are marked safe in the templates.
import path from 'node:path';
import nunjucks from 'nunjucks';
import type { Config } from '../common/config';
import { articlePath, authorPath, eventPath, indexMonthPath, indexRootPath, monthOf } from '../common/site-paths';
import { UnrecoverableJobError } from '../common/queue/render-queue';
import type { ArticleRow, AuthorRow, EventRow } from './item-rows';
import { relativeSiteLinks } from './site-links';
import { DEFAULT_THEME_COLOR, readSiteFiles, SiteFile } from './site-files';
import { scriptJson } from './script-json';
import { createLocale, newsSitemapLanguage, type Locale } from './locale';

export interface SiteInfo {
  name: string;
  publicUrl: string;
  /** The publication's language (SITE_LANGUAGE): the pages' strings, `lang` and `dir`, the news sitemap; 'en' when not given. */
  language?: string;
  /** IANA zone the pages show dates and times in (SITE_TIME_ZONE); 'UTC' when not given. */
  timeZone?: string;
  /** One line about the publication (SITE_DESCRIPTION): the home page's tagline and description; '' or undefined: none. */
  description?: string;
  /** SITE_LOGO, a PNG or SVG file shown in the header; '' or undefined: the name alone. */
  logo?: string;
  /** The app's public submission form, linked while open publishing is on; '' or undefined: no link. */
  submitUrl?: string;
  /** SITE_FAVICON, SITE_ICON (undefined or '': the shipped files) and SITE_THEME_COLOR. */
  favicon?: string;
  icon?: string;
  themeColor?: string;
}

export function siteInfoOf(config: Config): SiteInfo {
  return {
    name: config.siteName,
    publicUrl: config.publicUrl,
    submitUrl: config.publicSubmitUrl,
    favicon: config.siteFavicon,
    icon: config.siteIcon,
    themeColor: config.siteThemeColor,
    language: config.siteLanguage,
    timeZone: config.siteTimeZone,
    description: config.siteDescription,
    logo: config.siteLogo,
  };
}

export interface Renderer {
  render(template: string, context: Record<string, unknown>): string;
  /** The site's stylesheet (templates/site.css) and the content-hashed path every page links it from. */
  readonly stylesheet: SiteFile;
  /** The stylesheet, favicon, home-screen icon and web app manifest (producer/site-files.ts). */
  readonly files: SiteFile[];
  /** The publisher's logo in JSON-LD: SITE_LOGO's content-hashed path, else the home-screen icon's. */
  readonly publisherLogo: string;
  readonly site: SiteInfo;
  /** The pages' language and time zone (producer/locale.ts), for strings built outside the templates. */
  readonly locale: Locale;
}

export function createRenderer(site: SiteInfo, templatesDir = path.join(__dirname, 'templates')): Renderer {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(templatesDir, { noCache: false }), {
    autoescape: true,
    throwOnUndefined: false,
  });
  // One shared file instead of ~2 KB of inline CSS in every page: a third less
  // to store, journal and mirror per page, and readers' browsers cache it.
  const files = readSiteFiles(
    { ...site, favicon: site.favicon || undefined, icon: site.icon || undefined, logo: site.logo || undefined },
    templatesDir,
  );
  // An unknown SITE_LANGUAGE fails here, when the process starts, naming the variable.
  const locale = createLocale(site.language || 'en', site.timeZone || 'UTC');
  const stylesheet = files.stylesheet;
  env.addGlobal('stylesheet', stylesheet.path);
  env.addGlobal('icon', files.icon.path);
  env.addGlobal('liveScript', files.liveScript.path);
  env.addGlobal('searchScript', files.searchScript.path);
  env.addGlobal('themeColor', site.themeColor ?? DEFAULT_THEME_COLOR);
  env.addGlobal('logo', files.logo);
  env.addGlobal('lang', locale.lang);
  env.addGlobal('newsLanguage', newsSitemapLanguage(locale.lang));
  env.addGlobal('intl', locale.intl);
  env.addGlobal('timeZone', site.timeZone || 'UTC');
  env.addGlobal('dir', locale.dir);
  // Every string a page prints: t('key', { name: value }) is text (escaped like any value); th() is for a
  // string whose values are markup (a link, a <time>): the string itself is escaped, safe values are kept.
  env.addGlobal('t', (key: string, values?: Record<string, unknown>) => locale.t(key, values));
  env.addGlobal('th', (key: string, values: Record<string, unknown>) => {
    const escaped: Record<string, string> = {};
    for (const [name, value] of Object.entries(values))
      escaped[name] = value instanceof nunjucks.runtime.SafeString ? String(value) : escapeHtml(String(value));
    const text = escapeHtml(locale.t(key)).replace(/\{(\w+)\}/g, (all: string, name: string) => escaped[name] ?? all);
    return new nunjucks.runtime.SafeString(text);
  });
  // JSON-LD is data, not script: printed with <, > and & escaped (producer/structured-data.ts).
  env.addFilter('scriptjson', (value: unknown) => new nunjucks.runtime.SafeString(scriptJson(value)));
  // Feeds, sitemaps and JSON-LD: UTC. A page's <time datetime>: the site zone's wall time with its offset.
  env.addFilter('isodate', (ms: number | null) => (ms == null ? '' : new Date(ms).toISOString()));
  env.addFilter('zonediso', (ms: number | null) => (ms == null ? '' : locale.zonedIso(ms)));
  // Bodies are stored as saved; a link to the site's own address is made root-relative so every mirror serves working links.
  env.addFilter('sitelinks', (html: string | null) => (html == null ? '' : relativeSiteLinks(html, site.publicUrl)));
  env.addFilter('rfc822', (ms: number | null) => (ms == null ? '' : new Date(ms).toUTCString()));
  env.addFilter('humandate', (ms: number | null) => (ms == null ? '' : locale.date(ms)));
  env.addFilter('humandatetime', (ms: number | null) => (ms == null ? '' : locale.dateTime(ms)));
  env.addFilter('monthname', (month: string) => locale.month(month));
  return {
    stylesheet,
    files: files.all,
    publisherLogo: files.logo?.path ?? files.icon.path,
    site,
    locale,
    render(template, context) {
      try {
        return env.render(template, { site, ...context });
      } catch (error) {
        // A template bug does not heal by retrying (docs/contributing.md, "Code shape": typed errors).
        throw new TemplateError(template, error);
      }
    },
  };
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text as HTML, as nunjucks' autoescape writes it. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** A page's template failed on the data it was given: unrecoverable, and it names the template. */
export class TemplateError extends UnrecoverableJobError {
  constructor(
    readonly template: string,
    cause: unknown,
  ) {
    super(`template ${template} failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'TemplateError';
  }
}

// The view models are built field by field, not with object spread: a spread
// of a row plus overrides made objects that were slow to build and slow for
// nunjucks to read (measured: 7 µs to build, +50% per page render).

/** The view model templates see for an article. */
export function articleView(a: ArticleRow) {
  return {
    id: a.id,
    slug: a.slug,
    title: a.title,
    summary: a.summary,
    body: a.body,
    status: a.status,
    featured: a.featured,
    leadImage: a.leadImage,
    authors: bylines(a.authors),
    publishedAt: a.publishedAt,
    updatedAt: a.updatedAt,
    live: a.live,
    notes: a.notes,
    /**
     * When it last changed after publication, or null: its last live entry
     * (one before publication does not count) or its latest public note,
     * whichever is later. Feeds show it as `updated`, JSON-LD as dateModified.
     */
    modifiedAt: latest(
      a.liveUpdatedAt !== null && a.liveUpdatedAt > (a.publishedAt ?? 0) ? a.liveUpdatedAt : null,
      a.modifiedAt,
    ),
    url: articlePath(a.slug),
    section: a.section
      ? { slug: a.section.slug, name: a.section.name, url: indexRootPath(`section:${a.section.slug}`) }
      : null,
    tags: a.tags.map((t) => ({ slug: t.slug, name: t.name, url: indexRootPath(`tag:${t.slug}`) })),
  };
}

export function eventView(e: EventRow) {
  const month = monthOf(e.startsAt);
  return {
    id: e.id,
    slug: e.slug,
    title: e.title,
    summary: e.summary,
    body: e.body,
    location: e.location,
    startsAt: e.startsAt,
    endsAt: e.endsAt,
    status: e.status,
    featured: e.featured,
    leadImage: e.leadImage,
    tags: e.tags,
    authors: bylines(e.authors),
    updatedAt: e.updatedAt,
    notes: e.notes,
    modifiedAt: e.modifiedAt,
    url: eventPath(e.slug),
    month,
    monthUrl: indexMonthPath('events', month),
  };
}

/** Authors as bylines show them: the display name, linking to their page. */
function bylines(authors: AuthorRow[]) {
  return authors.map((p) => ({ slug: p.slug, name: p.name, url: authorPath(p.slug) }));
}

/** The later of two optional times; null when both are missing. */
function latest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  return b === null ? a : Math.max(a, b);
}
