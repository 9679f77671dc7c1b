// The small page a reader sees when neither an upstream nor the cache can
// answer: a clear status, no stack trace, nothing cached downstream.
import type { ServerResponse } from 'node:http';

const TITLES: Record<number, string> = {
  400: 'Bad request',
  404: 'Not found',
  405: 'Method not allowed',
  414: 'Address too long',
  429: 'Too many requests',
  502: 'Site temporarily unreachable',
  503: 'Busy',
  504: 'Site took too long to answer',
};

export function sendErrorPage(
  res: ServerResponse,
  status: number,
  message: string,
  cacheStatus: string,
  head = false,
): void {
  const title = TITLES[status] ?? 'Error';
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${status} ${title}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"></head>
<body style="font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em">
<h1>${title}</h1><p>${escapeHtml(message)}</p>
${status >= 500 ? '<p>Please try again in a minute.</p>' : ''}
</body></html>
`;
  const headers: Record<string, string | number> = {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'cache-status': cacheStatus,
  };
  if (status === 502 || status === 504) headers['retry-after'] = '30';
  // setHeader, not writeHead(status, headers): the access log reads them back.
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.writeHead(status);
  res.end(head ? undefined : body);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
