// A real redis-server per caller. Tests that kill Redis (to prove a save is
// not lost when the queue dies) need their own; everything else shares the
// one test/run.js starts.
import { spawn, ChildProcess } from 'node:child_process';
import net from 'node:net';
import { makeTempDir, removeTempDir, trackChild, waitReferenced } from './cleanup';
import { freePort } from './free-port';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly running: boolean;
  /** Graceful shutdown and removal of the temp dir. */
  stop(): Promise<void>;
  /** SIGKILL (or another signal), for chaos tests; the data is gone (no persistence). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Start again on the same port, empty. */
  restart(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.on('data', (b) => {
      reply += b.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('connect', () => socket.write('PING\r\n'));
  });
}

export async function startRedis(): Promise<RedisServer> {
  const dir = makeTempDir('redis');
  let port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let everStarted = false;

  const launch = async (): Promise<void> => {
    const output: Buffer[] = [];
    // Persistence off: tests want a clean, fast server; "Redis lost
    // everything" is exactly what kill() + restart() simulates.
    const proc = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--protected-mode',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir },
    );
    proc.stdout?.on('data', (b: Buffer) => output.length < 200 && output.push(b));
    proc.stderr?.on('data', (b: Buffer) => output.length < 200 && output.push(b));
    // Unref'd (with its pipes) so a test file can end while the server runs; cleanup.ts kills it on exit.
    proc.unref();
    for (const stream of [proc.stdout, proc.stderr]) (stream as unknown as { unref?: () => void })?.unref?.();
    trackChild(proc, dir);
    child = proc;
    let exitInfo: string | undefined;
    let spawnError: Error | undefined;
    exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        exitInfo = signal ? `signal ${signal}` : `code ${code}`;
        if (child === proc) child = undefined;
        resolve();
      });
    });
    proc.once('error', (e) => {
      spawnError = e;
      if (child === proc) child = undefined;
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (spawnError) throw new Error(`could not spawn redis-server: ${spawnError.message}`);
      if (exitInfo)
        throw new Error(
          `redis-server exited during startup (${exitInfo}):\n${Buffer.concat(output).toString().slice(-3000)}`,
        );
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(
          `redis-server not ready after ${READY_TIMEOUT_MS} ms:\n${Buffer.concat(output).toString().slice(-3000)}`,
        );
      }
      if (await ping(port)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  const start = async (): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await launch();
        everStarted = true;
        return;
      } catch (err) {
        // The port was taken between freePort() and bind(); a restarted server must keep its port.
        if (!everStarted && attempt < 3 && /Address already in use/i.test(String(err))) {
          port = await freePort();
          continue;
        }
        throw err;
      }
    }
  };

  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (!child) return;
    const proc = child;
    proc.kill(signal);
    if (signal !== 'SIGSTOP' && signal !== 'SIGCONT' && signal !== 'SIGTSTP') await waitReferenced(proc, exited);
  };

  try {
    await start();
  } catch (err) {
    removeTempDir(dir);
    throw err;
  }

  return {
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get running() {
      return child !== undefined;
    },
    kill,
    async restart() {
      await kill('SIGKILL');
      await start();
    },
    async stop() {
      if (child) {
        child.kill('SIGCONT');
        await kill('SIGTERM');
      }
      removeTempDir(dir);
    },
  };
}
