// HTTP dates (RFC 9110 5.6.7), the one parser every folder uses: IMF-fixdate and the two obsolete
// forms recipients must accept. Strict where Date.parse is forgiving: it takes "1" or text
// like "yesterday", and rolls 30 Feb over into March.

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MON = MONTHS.join('|');
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
const IMF_FIXDATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) (${MON}) (\\d{4}) ${TIME} GMT$`);
const RFC850 = new RegExp(`^(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, (\\d{2})-(${MON})-(\\d{2}) ${TIME} GMT$`);
const ASCTIME = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (${MON}) ([ \\d]\\d) ${TIME} (\\d{4})$`);

/** An HTTP date → milliseconds since the epoch; undefined when it is not one. */
export function parseHttpDate(text: string, now: Date = new Date()): number | undefined {
  let m = IMF_FIXDATE.exec(text);
  if (m) return utc(Number(m[3]), m[2]!, Number(m[1]), m[4]!, m[5]!, m[6]!);
  m = RFC850.exec(text);
  if (m) {
    // a two-digit year more than 50 years ahead belongs to the last century
    let year = Math.floor(now.getUTCFullYear() / 100) * 100 + Number(m[3]);
    if (year > now.getUTCFullYear() + 50) year -= 100;
    return utc(year, m[2]!, Number(m[1]), m[4]!, m[5]!, m[6]!);
  }
  m = ASCTIME.exec(text);
  if (m) return utc(Number(m[6]), m[1]!, Number(m[2]!.trim()), m[3]!, m[4]!, m[5]!);
  return undefined;
}

/** The same in whole seconds, the grain of HTTP validators and cache ages. */
export function httpDate(text: string): number | undefined {
  const ms = parseHttpDate(text);
  return ms === undefined ? undefined : ms / 1000;
}

/** Undefined for out-of-range fields (31 Feb, 25:00), which Date.UTC would silently roll over. */
function utc(year: number, month: string, day: number, hh: string, mm: string, ss: string): number | undefined {
  const [h, min, s] = [Number(hh), Number(mm), Number(ss)];
  const monthIndex = MONTHS.indexOf(month);
  const t = Date.UTC(year, monthIndex, day, h, min, s);
  const d = new Date(t);
  const same = d.getUTCFullYear() === year && d.getUTCMonth() === monthIndex && d.getUTCDate() === day
    && d.getUTCHours() === h && d.getUTCMinutes() === min && d.getUTCSeconds() === s;
  return same ? t : undefined;
}
