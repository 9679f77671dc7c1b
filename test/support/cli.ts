// Runs the real `bin/hyperstatic.js` in a child process, as an operator
// would, and collects what it printed and how it exited.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Command } from 'commander';

export const CLI = path.join(__dirname, '..', '..', 'bin', 'hyperstatic.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: string } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  });
}

/** What a command registered in-process printed: `out` to its output, `err` to its warnings. */
export interface CommandOutput {
  out: string;
  err: string;
}

type Register = (program: Command, output: { write(text: string): void; warn(text: string): void }) => void;

/**
 * Runs one `hyperstatic ...args` command in this process, as commander
 * parses it, with its output collected instead of printed: the command's
 * own code against the test's database, without a child process. A failed
 * command throws as it would to the CLI's top level.
 */
export async function runCommand(register: Register, args: string[]): Promise<CommandOutput> {
  const program = new Command('hyperstatic').exitOverride();
  const output = { out: '', err: '' };
  register(program, { write: (text) => (output.out += text), warn: (text) => (output.err += text) });
  await program.parseAsync(args, { from: 'user' });
  return output;
}

/**
 * Sets each variable of `vars` for the tests of a file (the in-process
 * commands read their configuration from the environment; undefined unsets
 * it) and returns the
 * function that puts every one back as it was.
 */
export function setEnv(vars: Record<string, string | undefined>): () => void {
  const saved = new Map<string, string | undefined>();
  for (const [k, v] of Object.entries(vars)) {
    saved.set(k, process.env[k]);
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  return () => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}
