// The site's files that come from configuration rather than content: the
// stylesheet, the search script (templates/search.js), the favicon (SITE_FAVICON), the home-screen icon (SITE_ICON),
// the header's logo (SITE_LOGO) and the web app manifest built from the site's name and colour. Each is
// read once when the renderer is made; every render group and rebuild
// offers them to the journal, which keeps only bytes that changed.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../common/config';
import { sha256Hex } from '../common/hash';
import {
  FAVICON_PATH,
  HOME_PATH,
  iconPath,
  liveScriptPath,
  logoPath,
  MANIFEST_PATH,
  searchScriptPath,
  stylesheetPath,
} from '../common/site-paths';

export interface SiteFile {
  path: string;
  body: Buffer;
  contentType: string;
}

export interface SiteFileOptions {
  name: string;
  /** ICO file; undefined: the shipped one. */
  favicon?: string;
  /** Square PNG; undefined: the shipped one. */
  icon?: string;
  themeColor?: string;
  /** PNG or SVG; undefined: no logo. */
  logo?: string;
}

/** The logo with the size it is drawn at (width and height reserve its space before it loads). */
export interface LogoFile extends SiteFile {
  width: number;
  height: number;
}

export interface SiteFiles {
  stylesheet: SiteFile;
  /** The reader search script the search page loads (docs/design.md, "Reader search"). */
  searchScript: SiteFile;
  icon: SiteFile;
  /** The script a live page loads (templates/live.js): served by the mirror, so CSP script-src 'self' allows it. */
  liveScript: SiteFile;
  logo?: LogoFile;
  /** Every file, the stylesheet first. */
  all: SiteFile[];
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
export const DEFAULT_THEME_COLOR = '#1b1b1b';

export function readSiteFiles(options: SiteFileOptions, templatesDir: string): SiteFiles {
  const css = fs.readFileSync(path.join(templatesDir, 'site.css'));
  const stylesheet = { path: stylesheetPath(hash(css)), body: css, contentType: 'text/css; charset=utf-8' };
  const searchScript = scriptFile(path.join(templatesDir, 'search.js'), searchScriptPath);
  const favicon = fs.readFileSync(options.favicon || path.join(templatesDir, 'favicon.ico'));
  const iconFile = options.icon || path.join(templatesDir, 'icon.png');
  const png = fs.readFileSync(iconFile);
  const { width, height } = pngSize(png, iconFile);
  const icon = { path: iconPath(hash(png)), body: png, contentType: 'image/png' };
  const manifest = {
    name: options.name,
    short_name: options.name.length > 12 ? options.name.split(/\s+/)[0].slice(0, 12) : options.name,
    start_url: HOME_PATH,
    scope: HOME_PATH,
    display: 'minimal-ui',
    background_color: '#ffffff',
    theme_color: options.themeColor ?? DEFAULT_THEME_COLOR,
    icons: [{ src: icon.path, sizes: `${width}x${height}`, type: 'image/png', purpose: 'any' }],
  };
  const liveScript = scriptFile(path.join(templatesDir, 'live.js'), liveScriptPath);
  const logo = options.logo ? readLogo(options.logo) : undefined;
  return {
    stylesheet,
    searchScript,
    icon,
    liveScript,
    logo,
    all: [
      stylesheet,
      searchScript,
      icon,
      liveScript,
      ...(logo ? [logo] : []),
      { path: FAVICON_PATH, body: favicon, contentType: 'image/x-icon' },
      {
        path: MANIFEST_PATH,
        body: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`),
        contentType: 'application/manifest+json',
      },
    ],
  };
}

/** A page script, served by the mirror under a content-hashed path (so CSP script-src 'self' allows it). */
function scriptFile(file: string, pathOf: (hash: string) => string): SiteFile {
  const body = fs.readFileSync(file);
  return { path: pathOf(hash(body)), body, contentType: 'text/javascript; charset=utf-8' };
}

function hash(body: Buffer): string {
  return sha256Hex(body).slice(0, 16);
}

/** SITE_LOGO: a PNG, or an SVG whose size is in its width and height or its viewBox; anything else is refused. */
function readLogo(file: string): LogoFile {
  const body = fs.readFileSync(file);
  if (body.subarray(0, 8).equals(PNG_SIGNATURE)) {
    const { width, height } = pngSize(body, file, 'SITE_LOGO');
    return { path: logoPath(hash(body), 'png'), body, contentType: 'image/png', width, height };
  }
  const svg = /<svg\b[^>]*>/.exec(body.toString('utf8'))?.[0];
  if (!svg) throw new ConfigError('SITE_LOGO', `${file} is neither a PNG nor an SVG file`);
  const attribute = (name: string) => new RegExp(`\\s${name}\\s*=\\s*["']([^"']*)["']`).exec(svg)?.[1];
  const box = attribute('viewBox')
    ?.trim()
    .split(/[\s,]+/)
    .map(Number);
  const width = parseFloat(attribute('width') ?? '') || box?.[2];
  const height = parseFloat(attribute('height') ?? '') || box?.[3];
  if (!width || !height || !(width > 0) || !(height > 0))
    throw new ConfigError('SITE_LOGO', `${file}: an SVG logo needs a viewBox or a width and height`);
  return {
    path: logoPath(hash(body), 'svg'),
    body,
    contentType: 'image/svg+xml',
    width: Math.round(width),
    height: Math.round(height),
  };
}

/** Width and height from a PNG's IHDR chunk; a file that is not a PNG is refused, naming it and its variable. */
function pngSize(png: Buffer, file: string, variable = 'SITE_ICON'): { width: number; height: number } {
  if (png.length < 24 || !png.subarray(0, 8).equals(PNG_SIGNATURE) || png.toString('latin1', 12, 16) !== 'IHDR')
    throw new ConfigError(variable, `${file} is not a PNG file`);
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}
