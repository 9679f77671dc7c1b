// A Redis master, one replica and three Sentinels watching them, each a real
// process on a loopback ephemeral port with its own temp dir, for tests that
// fail the master over. redis-server runs the Sentinels too (`--sentinel`),
// so no separate redis-sentinel binary is needed.
import { spawn, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import { makeTempDir, removeTempDir, trackChild, waitReferenced } from './cleanup';
import { freePort } from './free-port';
import { waitFor } from './wait';

export const MASTER_NAME = 'mymaster';

export interface SentinelCluster {
  /** host:port list for REDIS_SENTINELS. */
  readonly sentinels: string;
  /** The port of the server the Sentinels name as master now. */
  masterPort(): Promise<number>;
  /** SIGKILLs the current master and waits until the Sentinels have promoted the replica; resolves with its port. */
  killMaster(): Promise<number>;
  stop(): Promise<void>;
}

interface Proc {
  port: number;
  child: ChildProcess;
  exited: Promise<void>;
  output: Buffer[];
}

function launch(dir: string, args: string[], port: number): Proc {
  const output: Buffer[] = [];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  child.stdout?.on('data', (b: Buffer) => output.length < 200 && output.push(b));
  child.stderr?.on('data', (b: Buffer) => output.length < 200 && output.push(b));
  // Unref'd (with its pipes) so a test file can end while the servers run; cleanup.ts kills them on exit.
  child.unref();
  for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref?: () => void })?.unref?.();
  trackChild(child, dir);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => undefined);
  return { port, child, exited, output };
}

/** Runs one command on a fresh connection (no retries), so a dead server fails fast. */
async function ask(port: number, ...command: string[]): Promise<unknown> {
  const client = new Redis(port, '127.0.0.1', {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(command[0], ...command.slice(1));
  } finally {
    client.disconnect();
  }
}

async function startServer(dir: string, extra: string[]): Promise<Proc> {
  const port = await freePort();
  const proc = launch(
    dir,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra],
    port,
  );
  await waitFor(async () => (await ask(port, 'PING')) === 'PONG', {
    what: `redis-server on port ${port} (${Buffer.concat(proc.output).toString().slice(-500)})`,
    timeoutMs: 10_000,
  });
  return proc;
}

async function startSentinel(dir: string, masterPort: number): Promise<Proc> {
  const port = await freePort();
  // Sentinel rewrites its config file as it learns the topology: one file each.
  const file = path.join(dir, `sentinel-${port}.conf`);
  fs.writeFileSync(
    file,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      'protected-mode no',
      `dir ${dir}`,
      `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterPort} 2`,
      `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
      `sentinel failover-timeout ${MASTER_NAME} 4000`,
      `sentinel parallel-syncs ${MASTER_NAME} 1`,
      '',
    ].join('\n'),
  );
  const proc = launch(dir, [file, '--sentinel'], port);
  await waitFor(async () => (await ask(port, 'PING')) === 'PONG', { what: `sentinel on port ${port}` });
  return proc;
}

async function masterPortSeenBy(sentinelPort: number): Promise<number> {
  const [, port] = (await ask(sentinelPort, 'SENTINEL', 'get-master-addr-by-name', MASTER_NAME)) as string[];
  return Number(port);
}

export async function startSentinelCluster(): Promise<SentinelCluster> {
  const dir = makeTempDir('redis-sentinel');
  const procs: Proc[] = [];
  const stop = async (): Promise<void> => {
    for (const p of procs) {
      p.child.kill('SIGTERM');
      await waitReferenced(p.child, p.exited);
    }
    removeTempDir(dir);
  };
  try {
    const master = await startServer(dir, []);
    procs.push(master);
    const replica = await startServer(dir, ['--replicaof', '127.0.0.1', String(master.port)]);
    procs.push(replica);
    await waitFor(async () => /master_link_status:up/.test(String(await ask(replica.port, 'INFO', 'replication'))), {
      what: 'the replica to sync with the master',
    });
    const sentinels: Proc[] = [];
    for (let i = 0; i < 3; i++) sentinels.push(await startSentinel(dir, master.port));
    procs.push(...sentinels);
    // Every Sentinel knows the replica and the two others: a failover needs a quorum of 2 and a majority.
    await waitFor(
      async () => {
        for (const s of sentinels) {
          const peers = (await ask(s.port, 'SENTINEL', 'sentinels', MASTER_NAME)) as unknown[];
          const replicas = (await ask(s.port, 'SENTINEL', 'replicas', MASTER_NAME)) as unknown[];
          if (peers.length < 2 || replicas.length < 1) return false;
        }
        return true;
      },
      { what: 'the Sentinels to discover each other and the replica', timeoutMs: 20_000, intervalMs: 200 },
    );
    const servers = [master, replica];
    const masterPort = () => masterPortSeenBy(sentinels[0].port);
    return {
      sentinels: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
      masterPort,
      async killMaster() {
        const old = await masterPort();
        const victim = servers.find((s) => s.port === old)!;
        victim.child.kill('SIGKILL');
        await waitReferenced(victim.child, victim.exited);
        return waitFor(
          async () => {
            const ports = await Promise.all(sentinels.map((s) => masterPortSeenBy(s.port)));
            if (ports.some((p) => p === old || p !== ports[0])) return false;
            // The promoted replica has taken writes (role master), not just been chosen.
            return /role:master/.test(String(await ask(ports[0], 'INFO', 'replication'))) ? ports[0] : false;
          },
          { what: 'the Sentinels to promote the replica', timeoutMs: 30_000, intervalMs: 200 },
        );
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
