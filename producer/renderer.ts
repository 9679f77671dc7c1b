// nunjucks rendering of public pages. Autoescape is on: only article bodies,
// sanitized on save, are marked safe in the templates.
import path from 'node:path';
import nunjucks from 'nunjucks';
import { articlePath } from '../common/site-paths';
import { UnrecoverableJobError } from '../common/render-queue';
import type { ArticleRow } from './site-queries';

export interface SiteInfo {
  name: string;
  publicUrl: string;
}

export interface Renderer {
  render(template: string, context: Record<string, unknown>): string;
}

export function createRenderer(site: SiteInfo, templatesDir = path.join(__dirname, 'templates')): Renderer {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(templatesDir, { noCache: false }), { autoescape: true, throwOnUndefined: false });
  env.addFilter('isodate', (ms: number | null) => (ms == null ? '' : new Date(ms).toISOString()));
  env.addFilter('humandate', (ms: number | null) =>
    ms == null ? '' : new Date(ms).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }),
  );
  return {
    render(template, context) {
      try {
        return env.render(template, { site, ...context });
      } catch (error) {
        // A template bug does not heal by retrying (STYLE: errors are typed).
        throw new UnrecoverableJobError(`template ${template} failed: ${(error as Error).message}`, { cause: error });
      }
    },
  };
}

/** The view model templates see for an article. */
export function articleView(a: ArticleRow) {
  return { ...a, url: articlePath(a.slug) };
}
