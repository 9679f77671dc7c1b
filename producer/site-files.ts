// The site's files that come from configuration rather than content: the
// stylesheet, the search script (templates/search.js), the favicon (SITE_FAVICON), the home-screen icon (SITE_ICON)
// and the web app manifest built from the site's name and colour. Each is
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
}

export interface SiteFiles {
  stylesheet: SiteFile;
  /** The reader search script the search page loads (docs/design.md, "Reader search"). */
  script: SiteFile;
  icon: SiteFile;
  /** Every file, the stylesheet first. */
  all: SiteFile[];
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
export const DEFAULT_THEME_COLOR = '#1b1b1b';

export function readSiteFiles(options: SiteFileOptions, templatesDir: string): SiteFiles {
  const css = fs.readFileSync(path.join(templatesDir, 'site.css'));
  const stylesheet = { path: stylesheetPath(hash(css)), body: css, contentType: 'text/css; charset=utf-8' };
  const js = fs.readFileSync(path.join(templatesDir, 'search.js'));
  const script = { path: searchScriptPath(hash(js)), body: js, contentType: 'text/javascript; charset=utf-8' };
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
  return {
    stylesheet,
    script,
    icon,
    all: [
      stylesheet,
      script,
      icon,
      { path: FAVICON_PATH, body: favicon, contentType: 'image/x-icon' },
      {
        path: MANIFEST_PATH,
        body: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`),
        contentType: 'application/manifest+json',
      },
    ],
  };
}

function hash(body: Buffer): string {
  return sha256Hex(body).slice(0, 16);
}

/** Width and height from a PNG's IHDR chunk; a file that is not a PNG is refused, naming it. */
function pngSize(png: Buffer, file: string): { width: number; height: number } {
  if (png.length < 24 || !png.subarray(0, 8).equals(PNG_SIGNATURE) || png.toString('latin1', 12, 16) !== 'IHDR')
    throw new ConfigError('SITE_ICON', `${file} is not a PNG file`);
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}
