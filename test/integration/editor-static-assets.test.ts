// The editor's static files as a browser gets them: the rich editor's
// bundle and the stylesheet in brotli or gzip as Accept-Encoding asks
// (decoding to the very bytes served plain), Vary: Accept-Encoding, and a
// year's immutable caching only under the content-hashed URL the pages link.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import { EditorOrigin, startEditorOrigin, WebClient } from './editor-helpers';

describe('editor static files', () => {
  let origin: EditorOrigin;
  let web: WebClient;

  before(async () => {
    origin = await startEditorOrigin('editor_static');
    web = new WebClient(origin.url);
    await web.login('editor1');
  });
  after(async () => {
    await origin?.close();
  });

  /** The response as sent, through node:http (fetch adds its own Accept-Encoding and decodes the body). */
  function raw(path: string, acceptEncoding?: string, more: Record<string, string> = {}) {
    const headers = { ...more, ...(acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding }) };
    return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      http
        .get(new URL(path, origin.url), { headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        })
        .on('error', reject);
    });
  }

  it('serves the rich editor script compressed with brotli or gzip, as the request accepts, under its hashed URL', async () => {
    const page = await web.get('/editor/articles/new');
    const src = /<script src="(\/editor\/static\/rich-editor\.js\?v=[0-9a-f]{12})"/.exec(page.text)?.[1];
    assert.ok(src, 'the edit page links the script by its content hash');

    const plain = await raw(src);
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['content-encoding'], undefined, 'no Accept-Encoding: the bytes as they are');
    assert.match(plain.headers['content-type'] ?? '', /^text\/javascript/);
    assert.equal(plain.headers.vary, 'Accept-Encoding');
    assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.ok(plain.body.length > 100_000, 'the whole bundle');

    const br = await raw(src, 'gzip, deflate, br');
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(br.headers.vary, 'Accept-Encoding');
    assert.ok(Number(br.headers['content-length']) < plain.body.length / 2, 'brotli at least halves it');

    const gz = await raw(src, 'gzip');
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.ok(Number(gz.headers['content-length']) < plain.body.length / 2, 'gzip at least halves it');
    assert.notEqual(gz.headers.etag, br.headers.etag, 'each coding is its own representation');

    const refused = await raw(src, 'identity;q=0, gzip;q=0, br;q=0');
    assert.equal(refused.status, 406);
  });

  it('sends the compressed bytes of exactly the plain script, and answers a revalidation with 304', async () => {
    const page = await web.get('/editor/articles/new');
    const src = /<script src="(\/editor\/static\/rich-editor\.js\?v=[0-9a-f]{12})"/.exec(page.text)![1];
    const plain = await raw(src);
    const br = await raw(src, 'br');
    const gz = await raw(src, 'gzip');
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.ok(zlib.brotliDecompressSync(br.body).equals(plain.body), 'brotli decodes to the script');
    assert.ok(zlib.gunzipSync(gz.body).equals(plain.body), 'gzip decodes to the script');
    const again = await raw(src, 'br', { 'if-none-match': String(br.headers.etag) });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
  });

  it('links the stylesheet by its hash and serves it compressed; an unhashed or stale URL is cached for an hour only', async () => {
    const page = await web.get('/editor');
    const href = /<link rel="stylesheet" href="(\/editor\/static\/editor\.css\?v=[0-9a-f]{12})"/.exec(page.text)?.[1];
    assert.ok(href, 'the layout links the stylesheet by its content hash');
    const css = await raw(href, 'br;q=0.5, gzip');
    assert.equal(css.headers['content-encoding'], 'gzip', 'the higher q wins');
    assert.match(css.headers['content-type'] ?? '', /^text\/css/);
    assert.equal(css.headers['cache-control'], 'public, max-age=31536000, immutable');
    const unhashed = await raw('/editor/static/editor.css', 'br');
    assert.equal(unhashed.headers['cache-control'], 'public, max-age=3600');
    const stale = await raw('/editor/static/editor.css?v=000000000000', 'br');
    assert.equal(stale.headers['cache-control'], 'public, max-age=3600');
    assert.equal((await raw('/editor/static/nothing.js')).status, 404);
  });
});
