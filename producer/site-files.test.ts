import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../common/config';
import { readSiteFiles } from './site-files';

const TEMPLATES = path.join(__dirname, 'templates');

function withFile(name: string, body: string | Buffer, run: (file: string) => void): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-site-files-'));
  try {
    const file = path.join(dir, name);
    fs.writeFileSync(file, body);
    run(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('SITE_LOGO: an SVG is journaled by its content with the size from its viewBox or width and height', () => {
  withFile(
    'logo.svg',
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 40" stroke-width="2"></svg>',
    (logo) => {
      const files = readSiteFiles({ name: 'News', logo }, TEMPLATES);
      assert.match(files.logo?.path ?? '', /^\/assets\/logo-[0-9a-f]{16}\.svg$/);
      assert.deepEqual([files.logo?.width, files.logo?.height], [120, 40]);
      assert.equal(files.logo?.contentType, 'image/svg+xml');
      assert.ok(files.all.includes(files.logo!), 'offered to the journal with the other site files');
    },
  );
  withFile('logo.svg', '<svg width="90" height="30"></svg>', (logo) => {
    assert.deepEqual([readSiteFiles({ name: 'News', logo }, TEMPLATES).logo?.width], [90]);
  });
});

test('SITE_LOGO: a PNG keeps its own size; none means no logo', () => {
  const png = fs.readFileSync(path.join(TEMPLATES, 'icon.png'));
  withFile('logo.png', png, (logo) => {
    const files = readSiteFiles({ name: 'News', logo }, TEMPLATES);
    assert.match(files.logo?.path ?? '', /\.png$/);
    assert.ok((files.logo?.width ?? 0) > 0 && (files.logo?.height ?? 0) > 0);
  });
  assert.equal(readSiteFiles({ name: 'News' }, TEMPLATES).logo, undefined);
});

test('SITE_LOGO: anything but a PNG or a sized SVG is a configuration error naming the variable', () => {
  for (const [name, body] of [
    ['logo.jpg', 'not an image'],
    ['logo.svg', '<svg xmlns="http://www.w3.org/2000/svg"></svg>'],
  ]) {
    withFile(name, body, (logo) => {
      assert.throws(
        () => readSiteFiles({ name: 'News', logo }, TEMPLATES),
        (error: unknown) => error instanceof ConfigError && error.variable === 'SITE_LOGO',
        name,
      );
    });
  }
});
