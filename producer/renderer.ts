// nunjucks rendering of public pages. Autoescape is on: only article and
// event bodies, sanitized on save, are marked safe in the templates.
import fs from 'node:fs';
import path from 'node:path';
import nunjucks from 'nunjucks';
import { sha256Hex } from '../common/hash';
import { articlePath, eventPath, indexMonthPath, indexRootPath, monthOf, stylesheetPath } from '../common/site-paths';
import { UnrecoverableJobError } from '../common/queue/render-queue';
import type { ArticleRow, EventRow } from './item-rows';

export interface SiteInfo {
  name: string;
  publicUrl: string;
  /** The publication's language (SITE_LANGUAGE), for the news sitemap; 'en' when not given. */
  language?: string;
}

export interface Renderer {
  render(template: string, context: Record<string, unknown>): string;
  /** The site's stylesheet (templates/site.css) and the content-hashed path every page links it from. */
  readonly stylesheet: { path: string; body: Buffer };
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
  const css = fs.readFileSync(path.join(templatesDir, 'site.css'));
  const stylesheet = { path: stylesheetPath(sha256Hex(css).slice(0, 16)), body: css };
  env.addGlobal('stylesheet', stylesheet.path);
  env.addFilter('isodate', (ms: number | null) => (ms == null ? '' : new Date(ms).toISOString()));
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
