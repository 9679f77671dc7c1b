// Strict mapping of a request target to a public path (docs/design.md,
// "Trust model": mirrors serve only what the feed gave them). The result is
// only ever used as an index key, never joined onto a file system path, but
// it is still refused rather than "cleaned up": a request that needs
// normalizing is not a request for any page we publish.
import { isSafePublicPath } from '../common/feed-format';

export type RequestPath = { ok: true; path: string; query: string } | { ok: false; status: 400; reason: string };

/** Decodes once; refuses encoded slashes/backslashes/NUL, dot segments, empty segments and control characters. */
export function parseRequestPath(target: string | undefined): RequestPath {
  if (!target || !target.startsWith('/'))
    return { ok: false, status: 400, reason: 'request target must be an absolute path' };
  const q = target.indexOf('?');
  const raw = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '' : target.slice(q + 1);
  // %2F / %5C would smuggle a separator past segment checks; %00 truncates in C APIs.
  if (/%(2f|5c|00)/i.test(raw)) return { ok: false, status: 400, reason: 'encoded separator or NUL in path' };
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return { ok: false, status: 400, reason: 'malformed percent-encoding in path' };
  }
  if (!isSafePublicPath(decoded)) return { ok: false, status: 400, reason: 'path is not a normalized public path' };
  return { ok: true, path: decoded, query };
}

/**
 * Where a path the mirror does not hold has moved (a 301), or undefined: the
 * directory form (`/x` for a page stored as `/x/`), the path without its
 * trailing slash (`/sections/news/` → `/sections/news`), and either one in
 * lower case (`/Sections/News` → `/sections/news`: every published slug is
 * lower case). `exists` asks the index; at most four lookups. The targets
 * are safe paths themselves (no `//`), so a redirect cannot leave the site.
 */
export function movedTo(path: string, exists: (path: string) => boolean): string | undefined {
  const bare = path.length > 1 ? path.replace(/\/+$/, '') || '/' : path;
  const candidates = [bare === path ? `${path}/` : bare];
  const lower = bare.toLowerCase();
  if (lower !== bare) candidates.push(lower, `${lower}/`);
  for (const candidate of candidates) if (candidate !== path && exists(candidate)) return candidate;
  return undefined;
}
