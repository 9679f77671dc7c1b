// Starts `hyperstatic` commands as real child processes for end-to-end tests
// and benches, waits until they answer /healthz, and kills them afterwards.
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../harness/free-port';

const CLI = path.join(__dirname, '..', '..', 'bin', 'hyperstatic.js');
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface HyperstaticProcess {
  readonly url: string;
  readonly port: number;
  output(): string;
  /** SIGTERM and wait for a clean exit; resolves to the exit code. */
  stop(): Promise<number | null>;
  kill(): Promise<void>;
  /** Sends a signal and returns at once: SIGSTOP freezes the process (its sockets still accept), SIGCONT thaws it. */
  signal(signal: NodeJS.Signals): void;
}

export async function startHyperstatic(
  args: string[],
  env: Record<string, string>,
  options: {
    port?: number;
    portVariable?: string;
    healthPath?: string;
    timeoutMs?: number;
    /** Another launcher than this checkout's bin/hyperstatic.js (an installed copy). */
    cli?: string;
    /** Node options put before the launcher, e.g. `--require` of a probe. */
    nodeArgs?: string[];
  } = {},
): Promise<HyperstaticProcess> {
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.cli ?? CLI, ...args], {
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      ...env,
      ...(options.portVariable ? { [options.portVariable]: String(port) } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`hyperstatic ${args.join(' ')} exited with ${child.exitCode}:\n${output}`);
    try {
      const res = await fetch(`${url}${options.healthPath ?? '/healthz'}`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`hyperstatic ${args.join(' ')} did not become healthy:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
    signal(signal) {
      if (child.exitCode === null) child.kill(signal);
    },
  };
}
