// The other caches and the load generator of bench/proxy.bench.ts: nginx
// with proxy_cache (plain and TLS with HTTP/2), and Varnish (plain, and
// behind hitch for TLS and HTTP/2) from Debian's packages (installed when
// missing), configured at run time in a temp dir to cache the same page from
// the same upstream; h2load (bench/support/h2load.ts) drives every
// throughput run and wrk the memory runs.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const BINARIES = {
  nginx: '/usr/sbin/nginx',
  varnishd: '/usr/sbin/varnishd',
  hitch: '/usr/sbin/hitch',
  h2load: '/usr/bin/h2load',
  wrk: '/usr/bin/wrk',
  brotliStatic: '/usr/lib/nginx/modules/ngx_http_brotli_static_module.so',
} as const;
/** The Debian package of each binary. */
const PACKAGES: Record<keyof typeof BINARIES, string> = {
  nginx: 'nginx',
  varnishd: 'varnish',
  hitch: 'hitch',
  h2load: 'nghttp2-client',
  wrk: 'wrk',
  brotliStatic: 'libnginx-mod-http-brotli-static',
};

/** Installs with apt-get whichever of the binaries `needed` is missing (the bench runs as root). */
export function ensureInstalled(needed: readonly (keyof typeof BINARIES)[]): void {
  const missing = needed.filter((name) => !fs.existsSync(BINARIES[name]));
  if (missing.length === 0) return;
  const packages = missing.map((name) => PACKAGES[name]);
  process.stdout.write(`installing ${packages.join(', ')} with apt-get…\n`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', ...packages], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  // Debian starts the packaged services; the bench runs its own instances on its own ports.
  for (const service of ['nginx', 'varnish', 'hitch']) {
    try {
      execFileSync('systemctl', ['stop', service], { stdio: 'ignore' });
    } catch {
      // no systemd here: nothing was started
    }
  }
}

export interface Rival {
  readonly name: string;
  readonly url: string;
  /** The HTTPS (h2 and HTTP/1.1) address, when the rival terminates TLS. */
  readonly tlsUrl?: string;
  readonly child: ChildProcess;
  /** Peak RSS of every process serving (nginx's workers, Varnish's child, hitch), summed, in MiB. */
  rss(): number;
  /** CPU seconds (user + system) its live processes have used so far, summed. */
  cpu(): number;
  stop(): Promise<void>;
}

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** Peak RSS of a process and its children, remembered per pid across calls, summed. */
export function rssTracker(root: () => number[]): () => number {
  const peaks = new Map<number, number>();
  return () => {
    for (const pid of root()) {
      let cmd = '';
      try {
        cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue;
      }
      // tsx's esbuild helper serves nothing.
      if (!cmd.includes('esbuild')) peaks.set(pid, Math.max(peaks.get(pid) ?? 0, peakRssMiB(pid)));
    }
    return [...peaks.values()].reduce((a, b) => a + b, 0);
  };
}

/**
 * CPU seconds (utime + stime, every thread) of the processes `root` lists, summed:
 * a throughput run's share of it per response is what a hit costs, whatever
 * share of the two cores the scheduler gave each contender.
 */
export function cpuTracker(root: () => number[]): () => number {
  return () => {
    let ticks = 0;
    for (const pid of root()) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        // Fields 14 and 15 (utime, stime), counted after the parenthesised command.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // exited
      }
    }
    return ticks / CLOCK_TICKS;
  };
}

/** USER_HZ: /proc counts CPU time in these (100 on Linux). */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** A process and its children, then their children (Varnish: manager, cache child). */
function tree(pid: number): number[] {
  const children = childPids(pid);
  return [pid, ...children, ...children.flatMap(childPids)];
}

function stopper(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    });
}

/** nginx in the foreground: worker_processes auto, proxy_cache honouring the upstream's max-age, keep-alive upstream, no access log. */
export function startNginx(dir: string, port: number, upstreamPort: number, tls?: TlsFiles & { port: number }): Rival {
  const root = path.join(dir, 'nginx');
  fs.mkdirSync(path.join(root, 'cache'), { recursive: true });
  fs.mkdirSync(path.join(root, 'logs'), { recursive: true });
  // Workers run as an unprivileged user and must write the cache under our temp dir.
  for (const d of [dir, root, path.join(root, 'cache')]) fs.chmodSync(d, 0o777);
  fs.writeFileSync(
    path.join(root, 'nginx.conf'),
    `worker_processes auto;
pid ${root}/nginx.pid;
error_log ${root}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  # The default (1000) ends a keep-alive or HTTP/2 connection every 1000 requests; the others never do.
  keepalive_requests 1000000;
  proxy_cache_path ${root}/cache keys_zone=hs:16m max_size=256m inactive=1h;
  proxy_temp_path ${root}/tmp;
  client_body_temp_path ${root}/client;
  upstream origin { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  # One cache key for both listeners (the default one holds the scheme); Vary: Accept-Encoding keeps one variant per coding.
  proxy_cache_key $proxy_host$request_uri;
  server {
    listen 127.0.0.1:${port};
${nginxTls(tls)}    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache hs;
      proxy_cache_lock on;
      add_header X-Cache $upstream_cache_status;
    }
  }
}
`,
  );
  return runNginx('nginx proxy_cache', root, port, tls);
}

/** nginx's TLS listener (HTTP/2 and HTTP/1.1 by ALPN, TLS 1.2 and 1.3, a session cache), or nothing without `tls`. */
function nginxTls(tls: (TlsFiles & { port: number }) | undefined): string {
  if (!tls) return '';
  return `    listen 127.0.0.1:${tls.port} ssl http2;
    ssl_certificate ${tls.certFile};
    ssl_certificate_key ${tls.keyFile};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:TLS:10m;
`;
}

/** Runs nginx in the foreground with the nginx.conf written in `root`. */
function runNginx(name: string, root: string, port: number, tls: (TlsFiles & { port: number }) | undefined): Rival {
  const child = spawn(BINARIES.nginx, ['-c', path.join(root, 'nginx.conf'), '-p', root, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    tlsUrl: tls ? `https://127.0.0.1:${tls.port}` : undefined,
    child,
    rss: rssTracker(() => tree(child.pid!)),
    cpu: cpuTracker(() => tree(child.pid!)),
    stop: stopper(child, 'SIGQUIT'),
  };
}

/** The page and its precompressed copies, as nginx's `gzip_static` and `brotli_static` find them. */
export interface StaticPage {
  readonly path: string;
  readonly identity: Buffer;
  readonly gzip: Buffer;
  readonly br: Buffer;
}

/**
 * nginx serving the page as a file with `gzip_static` and `brotli_static`
 * (the precompressed copies written beside it, as a static host of the
 * producer's variants would be set up): no cache and no upstream, the
 * fastest a plain web server answers compressed pages. TLS and HTTP/2 as
 * {@link startNginx}.
 */
export function startNginxStatic(
  dir: string,
  port: number,
  page: StaticPage,
  tls?: TlsFiles & { port: number },
): Rival {
  const root = path.join(dir, 'nginx-static');
  const docroot = path.join(root, 'www');
  const file = path.join(docroot, page.path);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.mkdirSync(path.join(root, 'logs'), { recursive: true });
  fs.writeFileSync(file, page.identity);
  fs.writeFileSync(`${file}.gz`, page.gzip);
  fs.writeFileSync(`${file}.br`, page.br);
  for (const d of [dir, root]) fs.chmodSync(d, 0o777);
  execFileSync('chmod', ['-R', 'a+rX', docroot]);
  fs.writeFileSync(
    path.join(root, 'nginx.conf'),
    `load_module ${BINARIES.brotliStatic};
worker_processes auto;
pid ${root}/nginx.pid;
error_log ${root}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path ${root}/client;
  types { text/html html; }
  default_type text/html;
  server {
    listen 127.0.0.1:${port};
${nginxTls(tls)}    root ${docroot};
    location / {
      gzip_static on;
      brotli_static on;
      gzip_vary on;
      add_header Cache-Control "public, max-age=3600";
    }
  }
}
`,
  );
  return runNginx('nginx gzip_static+brotli_static', root, port, tls);
}

/**
 * Varnish in the foreground with its default VCL (honours max-age; asks the
 * upstream for gzip only, its one coding), a 256 MB malloc store and default
 * thread pools, HTTP/2 on (for hitch's h2 connections). With `tls`, hitch
 * in front terminates TLS and offers h2 and HTTP/1.1 by ALPN.
 */
export function startVarnish(
  dir: string,
  port: number,
  upstreamPort: number,
  tls?: TlsFiles & { port: number },
): Rival {
  const workdir = path.join(dir, 'varnish');
  fs.mkdirSync(workdir, { recursive: true });
  const child = spawn(
    BINARIES.varnishd,
    [
      '-F',
      '-a',
      `127.0.0.1:${port}`,
      '-b',
      `127.0.0.1:${upstreamPort}`,
      '-s',
      'malloc,256m',
      '-n',
      workdir,
      '-p',
      'feature=+http2',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const hitch = tls ? startHitch(dir, tls, port) : undefined;
  const stopVarnish = stopper(child);
  return {
    name: tls ? 'varnish (hitch for TLS)' : 'varnish',
    url: `http://127.0.0.1:${port}`,
    tlsUrl: tls ? `https://127.0.0.1:${tls.port}` : undefined,
    child,
    rss: rssTracker(() => [...tree(child.pid!), ...(hitch ? tree(hitch.pid!) : [])]),
    cpu: cpuTracker(() => [...tree(child.pid!), ...(hitch ? tree(hitch.pid!) : [])]),
    async stop() {
      if (hitch) await stopper(hitch)();
      await stopVarnish();
    },
  };
}

/** hitch: TLS 1.2+ in front of a backend, h2 and HTTP/1.1 by ALPN, one worker per core (its default is 1). */
function startHitch(dir: string, tls: TlsFiles & { port: number }, backendPort: number): ChildProcess {
  const pem = path.join(dir, 'hitch.pem');
  fs.writeFileSync(pem, fs.readFileSync(tls.keyFile, 'utf8') + fs.readFileSync(tls.certFile, 'utf8'), { mode: 0o600 });
  return spawn(
    BINARIES.hitch,
    [
      `--frontend=[127.0.0.1]:${tls.port}`,
      `--backend=[127.0.0.1]:${backendPort}`,
      '--alpn-protos=h2,http/1.1',
      '--tls-protos=TLSv1.2 TLSv1.3',
      `--workers=${Math.max(1, os.cpus().length)}`,
      '--daemon=off',
      // hitch refuses to run its workers as root; it reads the key before dropping privileges.
      '--user=nobody',
      '--group=nogroup',
      pem,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

export interface LoadResult {
  readonly rps: number;
  readonly p50ms: number;
  readonly p99ms: number;
  readonly requests: number;
  /** Socket errors plus non-2xx/3xx answers. */
  readonly errors: number;
  /** Mean body bytes per response (h2load), which shows the coding served. */
  readonly bodyBytes?: number;
}

/** wrk with two threads, `connections` keep-alive connections, for `seconds`, one URL (asynchronous: the upstream shares our event loop). */
export async function runWrk(url: string, seconds: number, connections: number, script?: string): Promise<LoadResult> {
  const args = ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency', ...(script ? ['-s', script] : []), url];
  const out = await new Promise<string>((resolve, reject) => {
    execFile(BINARIES.wrk, args, { encoding: 'utf8' }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
  });
  const number = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
  const latency = (pct: string) => {
    const match = new RegExp(`^\\s+${pct}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(out);
    if (!match) return NaN;
    return Number(match[1]) * (match[2] === 'us' ? 0.001 : match[2] === 's' ? 1000 : 1);
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  return {
    rps: number(/Requests\/sec:\s+([\d.]+)/),
    p50ms: latency('50'),
    p99ms: latency('99'),
    requests: number(/(\d+) requests in/),
    errors: socketErrors + (non2xx ? Number(non2xx[1]) : 0),
  };
}

/** Peak resident set (VmHWM) of a process, in MiB. */
export function peakRssMiB(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** Child process ids of a process (from /proc), for the workers of a cluster. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (after the parenthesised command) is the parent pid.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // the process exited while we looked
    }
  }
  return out;
}

/** A wrk script that asks for one of `pages` distinct pages at random, so the working set outgrows any small cache. */
export function randomPagesScript(dir: string, pages: number): string {
  const file = path.join(dir, 'random-pages.lua');
  fs.writeFileSync(
    file,
    `math.randomseed(os.time())\nrequest = function()\n  return wrk.format(nil, "/pages/" .. math.random(1, ${pages}))\nend\n`,
  );
  return file;
}
