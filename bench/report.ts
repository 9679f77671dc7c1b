// Shared output of the benches: a plain table on stdout and a JSON file in
// bench/results/, both with the machine and time they were measured on.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type Row = Record<string, string | number>;

export function report(name: string, title: string, rows: Row[], extra: Record<string, unknown> = {}): void {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: string | number | undefined) =>
    typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : (v ?? '');
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i])).join('  ');
  process.stdout.write(`\n${title}\n${line(columns)}\n${line(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const r of rows) process.stdout.write(`${line(columns.map((c) => cell(r[c])))}\n`);
  const out = path.join(__dirname, 'results', `${name}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
  };
  fs.writeFileSync(
    out,
    `${JSON.stringify({ name, title, measuredAt: new Date().toISOString(), machine, rows, ...extra }, null, 2)}\n`,
  );
  process.stdout.write(`(written to ${path.relative(process.cwd(), out)})\n`);
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}
