import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePlainHead } from './fast-server';
import { purgeAuthorized } from './purge';

const head = (...lines: string[]) => lines.join('\r\n');

describe('fast path request parsing', () => {
  it('accepts a plain keep-alive GET or HEAD with lower-cased header names', () => {
    const parsed = parsePlainHead(
      head('GET /news/a?x=1 HTTP/1.1', 'Host: news.example', 'Accept-Encoding:  gzip, br ', 'User-Agent: wrk'),
    );
    assert.deepEqual(parsed && { ...parsed, headers: { ...parsed.headers } }, {
      method: 'GET',
      target: '/news/a?x=1',
      headers: { host: 'news.example', 'accept-encoding': 'gzip, br', 'user-agent': 'wrk' },
    });
    assert.equal(parsePlainHead(head('HEAD / HTTP/1.1', 'Host: a', 'Connection: keep-alive'))?.method, 'HEAD');
  });

  it('leaves other methods, versions and absolute-form targets to node:http', () => {
    for (const line of [
      'POST / HTTP/1.1',
      'GET / HTTP/1.0',
      'GET http://a/ HTTP/1.1',
      'GET /  HTTP/1.1',
      'get / HTTP/1.1',
      'GET / HTTP/2',
    ]) {
      assert.equal(parsePlainHead(head(line, 'Host: a')), undefined, line);
    }
  });

  it('leaves bodies, Connection: close, upgrades and a missing Host to node:http', () => {
    for (const field of [
      'Content-Length: 0',
      'Transfer-Encoding: chunked',
      'Connection: close',
      'Upgrade: websocket',
      'Expect: 100-continue',
    ]) {
      assert.equal(parsePlainHead(head('GET / HTTP/1.1', 'Host: a', field)), undefined, field);
    }
    assert.equal(parsePlainHead(head('GET / HTTP/1.1', 'Accept: */*')), undefined);
  });

  it('leaves requests that change what may answer them to the full path', () => {
    for (const field of [
      'Cache-Control: max-age=0',
      'Pragma: no-cache',
      'Range: bytes=0-1',
      'If-Match: "x"',
      'If-Unmodified-Since: Sun, 01 Jan 2026 00:00:00 GMT',
    ]) {
      assert.equal(parsePlainHead(head('GET / HTTP/1.1', 'Host: a', field)), undefined, field);
    }
  });

  it('keeps a reader revalidating its own copy on the fast path', () => {
    for (const field of ['If-None-Match: "x"', 'If-Modified-Since: Sun, 01 Jan 2026 00:00:00 GMT']) {
      const request = parsePlainHead(head('GET / HTTP/1.1', 'Host: a', field));
      assert.ok(request, field);
      assert.equal(Object.keys(request.headers).length, 2);
    }
  });

  it('refuses to guess at malformed, folded, duplicated or smuggling heads', () => {
    for (const lines of [
      ['GET / HTTP/1.1', 'Host: a', 'no colon'],
      ['GET / HTTP/1.1', 'Host: a', ' folded: value'],
      ['GET / HTTP/1.1', 'Host: a', 'Host: b'],
      ['GET / HTTP/1.1', 'Host: a', 'X-A: 1\nContent-Length: 5'],
      ['GET / HTTP/1.1', 'Host: a', 'Bad Name: 1'],
    ]) {
      assert.equal(parsePlainHead(head(...lines)), undefined, JSON.stringify(lines));
    }
  });
});

describe('purge token check', () => {
  it('is disabled without a token and accepts only the exact bearer token', () => {
    assert.equal(purgeAuthorized('', 'Bearer x'), 'disabled');
    assert.equal(purgeAuthorized('sesame', undefined), 'unauthorized');
    assert.equal(purgeAuthorized('sesame', 'Bearer sesam'), 'unauthorized');
    assert.equal(purgeAuthorized('sesame', 'Basic sesame'), 'unauthorized');
    assert.equal(purgeAuthorized('sesame', 'bearer sesame'), 'purged');
  });
});
