// Plain-text tables for the CLI's listings: columns two spaces apart, each as
// wide as its widest cell, no trailing spaces (a shell's `column -t`, without
// splitting cells that hold spaces).

/** Rows as left-aligned columns; the first row sets how many columns there are. */
export function alignColumns(rows: string[][]): string {
  const widths = columnWidths(rows);
  return rows.map((cells) => line(cells, widths)).join('\n');
}

/** A header row, a rule of dashes under each column, then the body. */
export function formatTable(headers: string[], body: string[][]): string {
  const widths = columnWidths([headers, ...body]);
  return [headers, widths.map((w) => '-'.repeat(w)), ...body].map((cells) => line(cells, widths)).join('\n');
}

/** A time (ms since the epoch) to the minute in UTC, "2026-03-01 14:05"; "-" for none. */
export function isoMinute(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

function columnWidths(rows: string[][]): number[] {
  return rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
}

function line(cells: string[], widths: number[]): string {
  return cells
    .map((c, i) => (c ?? '').padEnd(widths[i] ?? 0))
    .join('  ')
    .trimEnd();
}
