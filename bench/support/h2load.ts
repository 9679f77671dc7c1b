// The load generator of bench/proxy.bench.ts's throughput runs: h2load
// (Debian's nghttp2-client), which speaks HTTP/1.1 (--h1) and HTTP/2, in the
// clear and over TLS, so every mode is driven by the same program. h2load
// prints no percentiles; its per-request log (--log-file: start, status,
// duration in µs) gives p50 and p99.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { LoadResult } from './proxy-rivals';

export const H2LOAD = '/usr/bin/h2load';

export interface LoadShape {
  /** 'h1': HTTP/1.1, one request at a time per connection; 'h2': HTTP/2 with `streams` concurrent streams per connection. */
  readonly protocol: 'h1' | 'h2';
  readonly connections: number;
  readonly streams: number;
  readonly seconds: number;
  /** Extra request header fields ("name: value"). */
  readonly headers?: readonly string[];
}

export async function runH2load(url: string, shape: LoadShape, dir: string): Promise<LoadResult> {
  const log = path.join(dir, `h2load-${process.pid}-${Date.now()}.log`);
  const args = [
    '-t2',
    `-c${shape.connections}`,
    `-D${shape.seconds}`,
    // The handshakes of every connection happen before the measured seconds, as with a browser's warm connection.
    '--warm-up-time=1',
    // A connection with nothing to read for 10 s is given up and counted, not waited for forever.
    '-N10',
    ...(shape.protocol === 'h1' ? ['--h1'] : [`-m${shape.streams}`]),
    ...(shape.headers ?? []).flatMap((header) => ['-H', header]),
    `--log-file=${log}`,
    url,
  ];
  const out = await new Promise<string>((resolve, reject) => {
    const limits = { encoding: 'utf8' as const, maxBuffer: 16 * 1024 * 1024, timeout: (shape.seconds + 60) * 1000 };
    execFile(H2LOAD, args, limits, (error, stdout, stderr) =>
      error ? reject(new Error(`h2load ${args.join(' ')}: ${error.message}\n${stderr}`)) : resolve(stdout),
    );
  });
  try {
    const { p50, p99 } = percentiles(log);
    const requests =
      /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
        out,
      );
    const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
    const done = Number(requests?.[2] ?? NaN);
    const failed = requests ? Number(requests[4]) + Number(requests[5]) + Number(requests[6]) : NaN;
    const bad = codes ? Number(codes[3]) + Number(codes[4]) : 0;
    const protocol = /Application protocol: (\S+)/.exec(out)?.[1];
    const expected = shape.protocol === 'h1' ? 'http/1.1' : 'h2';
    if (url.startsWith('https:') && protocol !== expected)
      throw new Error(`h2load negotiated ${protocol ?? 'nothing'} with ${url}, not ${expected}`);
    return {
      rps: Number(/finished in [\d.]+s, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN),
      p50ms: p50,
      p99ms: p99,
      requests: done,
      errors: failed + bad,
      bodyBytes: Math.round(Number(/\((\d+)\) data/.exec(out)?.[1] ?? NaN) / Math.max(1, done)),
    };
  } finally {
    fs.rmSync(log, { force: true });
  }
}

/** p50 and p99 of the request durations in an h2load log, in ms. */
function percentiles(log: string): { p50: number; p99: number } {
  const durations: number[] = [];
  for (const line of fs.readFileSync(log, 'utf8').split('\n')) {
    const us = Number(line.split('\t')[2]);
    if (Number.isFinite(us)) durations.push(us);
  }
  durations.sort((a, b) => a - b);
  const at = (q: number) =>
    durations.length === 0 ? NaN : durations[Math.min(durations.length - 1, Math.floor(q * durations.length))] / 1000;
  return { p50: at(0.5), p99: at(0.99) };
}
