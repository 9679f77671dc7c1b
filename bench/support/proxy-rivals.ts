// The other caches and the load generator of bench/proxy.bench.ts: nginx
// with proxy_cache and Varnish from Debian's packages (installed when
// missing), configured at run time in a temp dir to cache the same page from
// the same upstream, and wrk driving all of them the same way.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const BINARIES = { nginx: '/usr/sbin/nginx', varnishd: '/usr/sbin/varnishd', wrk: '/usr/bin/wrk' } as const;

/** Installs nginx, varnish and wrk with apt-get when one of them is missing (the bench runs as root). */
export function ensureInstalled(): void {
  const missing = Object.entries(BINARIES).filter(([, file]) => !fs.existsSync(file));
  if (missing.length === 0) return;
  const packages = missing.map(([name]) => (name === 'varnishd' ? 'varnish' : name));
  process.stdout.write(`installing ${packages.join(', ')} with apt-get…\n`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', ...packages], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  // Debian starts the packaged services; the bench runs its own instances on its own ports.
  for (const service of ['nginx', 'varnish']) {
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
  readonly child: ChildProcess;
  stop(): Promise<void>;
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
export function startNginx(dir: string, port: number, upstreamPort: number): Rival {
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
  proxy_cache_path ${root}/cache keys_zone=hs:16m max_size=256m inactive=1h;
  proxy_temp_path ${root}/tmp;
  client_body_temp_path ${root}/client;
  upstream origin { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
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
  const child = spawn(BINARIES.nginx, ['-c', path.join(root, 'nginx.conf'), '-p', root, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { name: 'nginx proxy_cache', url: `http://127.0.0.1:${port}`, child, stop: stopper(child, 'SIGQUIT') };
}

/** Varnish in the foreground with its default VCL (honours max-age), a 256 MB malloc store and default thread pools. */
export function startVarnish(dir: string, port: number, upstreamPort: number): Rival {
  const workdir = path.join(dir, 'varnish');
  fs.mkdirSync(workdir, { recursive: true });
  const child = spawn(
    BINARIES.varnishd,
    ['-F', '-a', `127.0.0.1:${port}`, '-b', `127.0.0.1:${upstreamPort}`, '-s', 'malloc,256m', '-n', workdir],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  return { name: 'varnish', url: `http://127.0.0.1:${port}`, child, stop: stopper(child) };
}

export interface LoadResult {
  readonly rps: number;
  readonly p50ms: number;
  readonly p99ms: number;
  readonly requests: number;
  /** Socket errors plus non-2xx/3xx answers. */
  readonly errors: number;
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
