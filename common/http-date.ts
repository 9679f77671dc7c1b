// HTTP-date (RFC 9110 §5.6.7), parsed strictly. Date.parse accepts far
// more than HTTP allows ("UTC" for "GMT", a missing comma, one-digit hours,
// several lines) and reads a two-digit year as 19xx, so a bad Expires could
// keep a page fresh for years and a good RFC 850 date could be a century off.
// Pure.

const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const LONG_DAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const DAY = `(${DAY_NAMES.join('|')})`;
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';

// Sun, 06 Nov 1994 08:49:37 GMT
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
// Sunday, 06-Nov-94 08:49:37 GMT (obsolete)
const RFC850_DATE = new RegExp(`^(${LONG_DAY_NAMES.join('|')}), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
// Sun Nov  6 08:49:37 1994 (obsolete; the day is space-padded)
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} (\\d{2}| \\d) ${TIME} (\\d{4})$`);

/**
 * Milliseconds since the epoch of an HTTP-date, or undefined when the value
 * is not one: IMF-fixdate, or the obsolete RFC 850 and asctime forms that
 * recipients must still accept (§5.6.7). Names are case-sensitive and the
 * spacing is exact; an impossible date (31 Feb, hour 24) is invalid.
 * `nowMs` decides the century of a two-digit RFC 850 year.
 */
export function parseHttpDate(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  // A field value may carry optional whitespace around it (RFC 9110 §5.5), nothing else.
  const text = value.replace(/^[ \t]+|[ \t]+$/g, '');
  let match = IMF_FIXDATE.exec(text);
  if (match) return build(Number(match[4]), match[3], match[2], match[5], match[6], match[7]);
  match = RFC850_DATE.exec(text);
  if (match) return build(fullYear(Number(match[4]), nowMs), match[3], match[2], match[5], match[6], match[7]);
  match = ASCTIME_DATE.exec(text);
  if (match) return build(Number(match[7]), match[2], match[3].trim(), match[4], match[5], match[6]);
  return undefined;
}

/**
 * §5.6.7: a two-digit year that would be more than 50 years in the future
 * is the most recent past year with the same last two digits.
 */
function fullYear(twoDigits: number, nowMs: number): number {
  const thisYear = new Date(nowMs).getUTCFullYear();
  let year = Math.floor(thisYear / 100) * 100 + twoDigits;
  if (year > thisYear + 50) year -= 100;
  else if (year <= thisYear - 50) year += 100;
  return year;
}

function build(
  year: number,
  month: string,
  day: string,
  hour: string,
  minute: string,
  second: string,
): number | undefined {
  const m = MONTHS.indexOf(month);
  const d = Number(day);
  const h = Number(hour);
  const min = Number(minute);
  // A leap second (60) is allowed by §5.6.7; Date.UTC rolls it into the next minute.
  const s = Number(second);
  if (h > 23 || min > 59 || s > 60 || d < 1) return undefined;
  const ms = Date.UTC(year, m, d, h, min, s);
  // 31 Feb and friends roll into the next month: not a date.
  if (new Date(Date.UTC(year, m, d)).getUTCMonth() !== m) return undefined;
  return ms;
}
