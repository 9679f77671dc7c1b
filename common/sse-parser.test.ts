import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createSseParser } from './sse-parser';

describe('createSseParser', () => {
  test('assembles events across arbitrary chunk boundaries and line endings, skipping comments', () => {
    const parser = createSseParser();
    const stream =
      ': ping\r\n\r\nevent: hello\r\ndata: {"epoch":1,\r\ndata: "head":0}\r\n\r\nevent: batch\nid: 7\ndata:x\n\nevent: empty\n\n';
    const events = [];
    for (let i = 0; i < stream.length; i += 3) events.push(...parser.push(stream.slice(i, i + 3)));
    assert.deepEqual(events, [
      { event: 'hello', id: undefined, data: '{"epoch":1,\n"head":0}' },
      { event: 'batch', id: '7', data: 'x' },
    ]);
  });
});
