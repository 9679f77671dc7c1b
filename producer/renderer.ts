// nunjucks rendering of public pages. Autoescape is on: only article and
// event bodies, sanitized on save, are marked safe in the templates.
import path from 'node:path';
import nunjucks from 'nunjucks';
import type { Config } from '../common/config';
import { articlePath, eventPath, indexMonthPath, indexRootPath, monthOf } from '../common/site-paths';
import { UnrecoverableJobError } from '../common/queue/render-queue';
import type { ArticleRow, EventRow } from './item-rows';
import { relativeSiteLinks } from './site-links';
import { DEFAULT_THEME_COLOR, readSiteFiles, SiteFile } from './site-files';
import { scriptJson } from './script-json';

export interface SiteInfo {
  name: string;
  publicUrl: string;
  /** The publication's language (SITE_LANGUAGE), for the news sitemap; 'en' when not given. */
  language?: string;
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
  };
}

export interface Renderer {
  render(template: string, context: Record<string, unknown>): string;
  /** The site's stylesheet (templates/site.css) and the content-hashed path every page links it from. */
  readonly stylesheet: SiteFile;
  /** The stylesheet, favicon, home-screen icon and web app manifest (producer/site-files.ts). */
  readonly files: SiteFile[];
  /** The home-screen icon's content-hashed path (the publisher's logo in JSON-LD). */
  readonly iconPath: string;
  readonly site: SiteInfo;
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

export function createRenderer(site: SiteInfo, templatesDir = path.join(__dirname, 'templates')): Renderer {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(templatesDir, { noCache: false }), {
    autoescape: true,
    throwOnUndefined: false,
  });
  // One shared file instead of ~2 KB of inline CSS in every page: a third less
  // to store, journal and mirror per page, and readers' browsers cache it.
  const files = readSiteFiles(
    { ...site, favicon: site.favicon || undefined, icon: site.icon || undefined },
    templatesDir,
  );
  const stylesheet = files.stylesheet;
  env.addGlobal('stylesheet', stylesheet.path);
  env.addGlobal('icon', files.icon.path);
  env.addGlobal('searchScript', files.script.path);
  env.addGlobal('themeColor', site.themeColor ?? DEFAULT_THEME_COLOR);
  // JSON-LD is data, not script: printed with <, > and & escaped (producer/structured-data.ts).
  env.addFilter('scriptjson', (value: unknown) => new nunjucks.runtime.SafeString(scriptJson(value)));
  env.addFilter('isodate', (ms: number | null) => (ms == null ? '' : new Date(ms).toISOString()));
  // Bodies are stored as saved; a link to the site's own address is made root-relative so every mirror serves working links.
  env.addFilter('sitelinks', (html: string | null) => (html == null ? '' : relativeSiteLinks(html, site.publicUrl)));
  env.addFilter('rfc822', (ms: number | null) => (ms == null ? '' : new Date(ms).toUTCString()));
  // Intl formatters are built once: toLocale*String builds one per call, which dominated rebuild profiles.
  const date = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
  const dateTime = new Intl.DateTimeFormat('en-GB', {
    weekday: 'short',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZone: 'UTC',
  });
  env.addFilter('humandate', (ms: number | null) => (ms == null ? '' : date.format(ms)));
  env.addFilter('humandatetime', (ms: number | null) => (ms == null ? '' : `${dateTime.format(ms)} UTC`));
  env.addFilter('monthname', (month: string) => {
    const m = /^(\d{4})-(\d{2})$/.exec(month);
    return m ? `${MONTHS[Number(m[2]) - 1]} ${m[1]}` : month;
  });
  return {
    stylesheet,
    files: files.all,
    iconPath: files.icon.path,
    site,
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
    author: a.author,
    publishedAt: a.publishedAt,
    updatedAt: a.updatedAt,
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
    updatedAt: e.updatedAt,
    url: eventPath(e.slug),
    month,
    monthUrl: indexMonthPath('events', month),
  };
}
