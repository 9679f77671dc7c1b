// Interim (1xx) answers from an upstream, relayed to the reader whose
// request went there: RFC 9110 §15.2 says a proxy forwards them unless it
// asked for them itself (100 Continue is ours: Expect is never forwarded).
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

export interface Information {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
}

/**
 * 103 Early Hints goes out as it came (its Link fields and the rest); 102
 * Processing as node:http writes it. Nothing once the final head is out,
 * nor to an HTTP/1.0 reader, who cannot receive a 1xx (RFC 9110 §15.2).
 * node:http has no way to write other 1xx codes; none is in use.
 */
export function relayInformation(req: IncomingMessage, res: ServerResponse, info: Information): void {
  if (
    res.headersSent ||
    res.writableEnded ||
    res.destroyed ||
    (req.httpVersionMajor === 1 && req.httpVersionMinor === 0)
  )
    return;
  if (info.statusCode === 103) {
    const hints: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(info.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      hints[name] = value;
    }
    if (hints.link === undefined) return;
    res.writeEarlyHints(hints);
  } else if (info.statusCode === 102) {
    res.writeProcessing();
  }
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer']);
