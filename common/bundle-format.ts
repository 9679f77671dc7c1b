// A site bundle (docs/operations.md, "Bundles"): the static site as a
// directory tree any static file server can host as it is, plus the origin's
// signed manifest, heartbeat and trust statements, so anyone can check it
// offline. Shared by the origin, which writes bundles (app/bundle/), and
// mirrors, which verify and load them (mirrors/bundle/).
//
//   OUT/index.html, OUT/news/SLUG/index.html, OUT/media/…   every live page (or, with --since, those changed)
//   OUT/.well-known/hyperstatic/
//     bundle.json       what the bundle is: format, epoch, cursor, since (unsigned: a summary)
//     manifest.ndjson   the origin's signed manifest, byte for byte as GET /manifest serves it
//     heartbeat.json    a heartbeat signed at export, valid for --valid-for
//     trust.json        the delegations and revocations the signatures rest on
//     objects.json      for object storage: every live path → file, status, content type, sha256, size
//     nginx.conf        a server block serving the tree with the right content types and 410s
//
// objects.json and nginx.conf are derived from the manifest alone, so a
// verifier regenerates them and refuses a bundle whose copies differ.
import fs from 'node:fs';
import readline from 'node:readline';
import { isSafePublicPath, type ManifestPage } from './feed-format';

export const BUNDLE_FORMAT = 'hyperstatic-bundle-v1';
/** Where the bundle's own files live, beside the site's (mirrors publish heartbeat.json and trust.json there too). */
export const BUNDLE_META_DIR = '.well-known/hyperstatic';
export const BUNDLE_FILES = {
  info: 'bundle.json',
  manifest: 'manifest.ndjson',
  heartbeat: 'heartbeat.json',
  trust: 'trust.json',
  objects: 'objects.json',
  nginx: 'nginx.conf',
} as const;

export interface BundleInfo {
  format: typeof BUNDLE_FORMAT;
  epoch: number;
  cursor: number;
  /** 0 for a whole site; otherwise the bundle holds only the pages changed after this journal entry. */
  since: number;
  pages: number;
  files: number;
  bytes: number;
  /** ms since 1970. */
  created: number;
  /** What nginx.conf was generated with. */
  nginx: NginxOptions;
}

export interface NginxOptions {
  /** The directory the bundle is served from (absolute). */
  root: string;
  /** nginx `listen` argument, e.g. "80" or "127.0.0.1:8088". */
  listen: string;
}

export function metaFile(name: keyof typeof BUNDLE_FILES): string {
  return `${BUNDLE_META_DIR}/${BUNDLE_FILES[name]}`;
}

/**
 * The file (relative to the bundle, `/`-separated) a public path is stored
 * in. A path whose last segment has an extension is stored as it is; any other
 * page becomes a directory's index.html, because `/articles` and
 * `/articles/2026-11` are both pages and a file cannot also be a directory.
 * Throws for a path that could leave the bundle or land in its own files.
 */
export function bundleFileOf(publicPath: string): string {
  if (!isSafePublicPath(publicPath)) throw new Error(`unsafe path ${JSON.stringify(publicPath)}`);
  const relative = publicPath.slice(1);
  if (relative === BUNDLE_META_DIR || relative.startsWith(`${BUNDLE_META_DIR}/`))
    throw new Error(`path ${publicPath} is reserved for the bundle's own files`);
  if (relative === '' || relative.endsWith('/')) return `${relative}index.html`;
  const last = relative.slice(relative.lastIndexOf('/') + 1);
  return last.includes('.') ? relative : `${relative}/index.html`;
}

/** The manifest file's lines, without their newlines, in bounded memory. */
export async function* fileLines(file: string): AsyncGenerator<string> {
  const input = fs.createReadStream(file, { encoding: 'utf8' });
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) yield line;
  } finally {
    lines.close();
    input.destroy();
  }
}

/** The page lines of a manifest file (head and end skipped), parsed by `parse`. */
export async function* manifestFilePages(
  file: string,
  parse: (value: unknown) => ManifestPage,
): AsyncGenerator<ManifestPage> {
  for await (const line of fileLines(file)) {
    const value = JSON.parse(line) as { type?: string };
    if (value.type === 'head' || value.type === 'end') continue;
    yield parse(value);
  }
}

/** One object of objects.json: what an upload to object storage needs for one public path. */
export function objectEntry(page: ManifestPage, since: number): Record<string, unknown> {
  return {
    path: page.path,
    file: bundleFileOf(page.path),
    status: page.op === 'gone' ? 410 : 200,
    contentType: page.contentType,
    sha256: page.sha256,
    size: page.size,
    inBundle: page.seq > since,
  };
}

/** objects.json as chunks: every live path, so a sync tool also learns which paths to delete. */
export async function* objectsJson(
  pages: AsyncIterable<ManifestPage>,
  head: { epoch: number; cursor: number; since: number },
): AsyncGenerator<string> {
  yield `{"format":"hyperstatic-objects-v1","epoch":${head.epoch},"cursor":${head.cursor},"since":${head.since},"objects":[`;
  let first = true;
  for await (const page of pages) {
    yield `${first ? '\n' : ',\n'}${JSON.stringify(objectEntry(page, head.since))}`;
    first = false;
  }
  yield '\n]}\n';
}

// Inside double quotes nginx takes spaces, `;` and braces literally; a quote, a backslash or `$` (a variable) it does not.
// eslint-disable-next-line no-control-regex -- control characters are refused too
const NGINX_UNSAFE = /["$\\\x00-\x1f\x7f]/;

function nginxString(text: string): string {
  if (NGINX_UNSAFE.test(text)) throw new Error(`cannot write ${JSON.stringify(text)} into an nginx config`);
  return `"${text}"`;
}

function extensionOf(file: string): string {
  const last = file.slice(file.lastIndexOf('/') + 1);
  const dot = last.lastIndexOf('.');
  return dot <= 0 ? '' : last.slice(dot + 1).toLowerCase();
}

/**
 * nginx.conf as chunks, in two passes over the pages (`pages()` is called
 * twice): the first learns each file extension's most common content type
 * (a `types` block); the second writes an exact location only for a page
 * whose type differs from its extension's, and for each gone page (its
 * tombstone served with 410, as mirrors serve it).
 */
export async function* nginxConfig(
  pages: () => AsyncIterable<ManifestPage>,
  options: NginxOptions & { epoch: number; cursor: number },
): AsyncGenerator<string> {
  const counts = new Map<string, Map<string, number>>();
  for await (const page of pages()) {
    const ext = extensionOf(bundleFileOf(page.path));
    const byType = counts.get(ext) ?? new Map<string, number>();
    byType.set(page.contentType, (byType.get(page.contentType) ?? 0) + 1);
    counts.set(ext, byType);
  }
  const typeOf = new Map<string, string>();
  for (const [ext, byType] of counts) {
    typeOf.set(ext, [...byType].reduce((a, b) => (b[1] > a[1] ? b : a))[0]);
  }
  yield [
    `# Generated by \`hyperstatic bundle export\` for journal entry ${options.cursor} (epoch ${options.epoch}).`,
    '# Include it in the http block (Debian: /etc/nginx/conf.d/). Do not edit: `bundle verify` compares it.',
    'server {',
    `    listen ${options.listen};`,
    `    root ${nginxString(options.root)};`,
    '    disable_symlinks on;',
    '    charset off;',
    '    types {',
    ...[...typeOf]
      .filter(([ext]) => ext !== '')
      .sort()
      .map(([ext, type]) => `        ${nginxString(type)} ${ext};`),
    '    }',
    `    default_type ${nginxString(typeOf.get('') ?? 'application/octet-stream')};`,
    '    location / {',
    '        try_files $uri $uri/index.html =404;',
    '    }',
    '    location = / {',
    '        try_files /index.html =404;',
    '    }',
    '',
  ].join('\n');
  for await (const page of pages()) {
    const file = `/${bundleFileOf(page.path)}`;
    const expected = typeOf.get(extensionOf(file));
    if (page.op === 'gone') {
      // error_page keeps the 410 and serves the tombstone file through `location /`.
      yield `    location = ${nginxString(page.path)} {\n        error_page 410 ${nginxString(file)};\n        return 410;\n    }\n`;
    } else if (page.contentType !== expected && page.path !== '/') {
      yield `    location = ${nginxString(page.path)} {\n        types { }\n        default_type ${nginxString(page.contentType)};\n        try_files ${nginxString(file)} =404;\n    }\n`;
    }
  }
  yield '}\n';
}
