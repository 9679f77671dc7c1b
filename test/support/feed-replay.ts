// Reads `GET /feed?after=0` from an origin or a mirror until the batch
// ending at `head` has arrived: the raw text of the stream (to search for
// bytes that must be gone) and its batches, parsed as a follower would.
import assert from 'node:assert/strict';
import { parseFeedBatch, type FeedBatch } from '../../common/feed-format';

export async function replayFeed(base: string, head: number): Promise<{ batches: FeedBatch[]; text: string }> {
  const controller = new AbortController();
  const res = await fetch(`${base}/feed?after=0`, { signal: controller.signal });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  let text = '';
  const decoder = new TextDecoder();
  // The whole event that carries `id: head`, up to the blank line that ends it: the origin writes `id:`
  // first, so stopping at the id line could cut that batch's data line in two (a large coalesced batch).
  const headEvent = new RegExp(`(^|\\n)id: ${head}\\n([^\\n]+\\n)*\\n`);
  const deadline = Date.now() + 10_000;
  try {
    while (!headEvent.test(text)) {
      if (Date.now() > deadline) throw new Error(`feed at ${base} did not reach ${head}: ${text.slice(-500)}`);
      const { value, done } = await reader.read();
      if (done) break;
      // Streamed decoding: a character split across two chunks is not garbled.
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    controller.abort();
  }
  // The origin writes `id:` before `event:`, a mirror after it: both are valid SSE.
  const batches = [...text.matchAll(/^data: (\{"epoch".*)$/gm)]
    .map((m) => JSON.parse(m[1]) as { entries?: unknown })
    .filter((b) => Array.isArray(b.entries))
    .map((b) => parseFeedBatch(b));
  return { batches, text };
}
