// The editor UI's nunjucks environment: autoescape on, so every value a
// template prints is escaped unless a template marks it safe (only
// sanitized article bodies are).
import path from 'node:path';
import nunjucks from 'nunjucks';
import { toZonedLocal, zonedDisplay } from './zoned-time';

export type Views = nunjucks.Environment;

export function createViews(): Views {
  const env = new nunjucks.Environment(
    new nunjucks.FileSystemLoader(path.join(__dirname, 'templates'), { noCache: false }),
    {
      autoescape: true,
      throwOnUndefined: false,
    },
  );
  env.addFilter('datetime', (ms: unknown) => {
    if (ms === null || ms === undefined || ms === '') return '';
    return new Date(Number(ms)).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  });
  // An instant as a wall time in the site's zone (SITE_TIME_ZONE): "2026-12-07 10:30 (Europe/Berlin)".
  env.addFilter('zoned', (ms: unknown, zone: unknown) =>
    ms === null || ms === undefined ? '' : zonedDisplay(Number(ms), typeof zone === 'string' ? zone : 'UTC'),
  );
  // An RFC 3339 event time as a wall time in the site's zone: "2026-12-07 10:30".
  env.addFilter('isoZoned', (iso: unknown, zone: unknown) =>
    typeof iso === 'string' && iso !== ''
      ? toZonedLocal(Date.parse(iso), typeof zone === 'string' ? zone : 'UTC').replace('T', ' ')
      : '',
  );
  env.addFilter('ago', (ms: unknown, now?: number) => {
    if (ms === null || ms === undefined) return '';
    const seconds = Math.max(0, Math.round(((now ?? Date.now()) - Number(ms)) / 1000));
    if (seconds < 60) return `${seconds} s ago`;
    if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
    return `${Math.round(seconds / 86400)} d ago`;
  });
  env.addFilter('bytes', (n: unknown) => {
    const v = Number(n);
    if (v < 1024) return `${v} B`;
    if (v < 1024 * 1024) return `${(v / 1024).toFixed(1)} KB`;
    return `${(v / 1024 / 1024).toFixed(1)} MB`;
  });
  return env;
}
