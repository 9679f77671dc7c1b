// An instant's wall-clock time in an IANA zone, as Intl knows the zone's
// rules (offsets, daylight saving): never a fixed offset kept here. Shared
// by the editor's zoned inputs (app/ui/zoned-time.ts) and the public pages'
// <time datetime> (producer/locale.ts). Pure.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The wall time in `zone` at instant `ms`, to the second: "2026-12-07T10:30:00". */
export function wallTime(ms: number, zone: string): string {
  const p = Object.fromEntries(
    formatter(zone)
      .formatToParts(new Date(ms))
      .map((x) => [x.type, x.value]),
  );
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`;
}
