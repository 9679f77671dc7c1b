// Incremental parser of a text/event-stream (WHATWG HTML §9.2.6), as the
// change feed is served: feed it decoded text in arbitrary chunks, get
// complete events back.
export interface SseEvent {
  event: string;
  id: string | undefined;
  data: string;
}

/** Comments (`: ping`) produce no event; a lone `\r` at a chunk's end waits for a possible `\n`. */
export function createSseParser(): { push(text: string): SseEvent[] } {
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  let hasData = false;
  return {
    push(text) {
      buffer += text;
      const out: SseEvent[] = [];
      for (;;) {
        const match = /\r\n|\r|\n/.exec(buffer);
        if (!match) break;
        // A lone \r at the end of a chunk may be the first half of \r\n.
        if (match[0] === '\r' && match.index === buffer.length - 1) break;
        const line = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        if (line === '') {
          if (hasData) out.push({ event: event || 'message', id, data: data.join('\n') });
          event = '';
          data = [];
          hasData = false;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') event = value;
        else if (field === 'data') {
          data.push(value);
          hasData = true;
        } else if (field === 'id' && !value.includes('\0')) id = value;
      }
      return out;
    },
  };
}
