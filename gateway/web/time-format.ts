/**
 * The page's one way of writing a time: in the site's zone, `YYYY-MM-DD HH:mm:ss`, or shorter where
 * space is short (the phone's punch cards). Every time a person reads comes through here, so no
 * ISO string (`…T…Z`, UTC) ever reaches the page, the CSV or a notice.
 */

const NONE = '—';
const parts = new Map<string, Intl.DateTimeFormat>();

/** Formatters are costly to build, so one is kept per zone. */
function formatterFor(timezone: string): Intl.DateTimeFormat {
  let format = parts.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', {
      timeZone: timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    parts.set(timezone, format);
  }
  return format;
}

interface SiteFields {
  readonly date: string;
  readonly monthDay: string;
  readonly year: string;
  readonly hm: string;
  readonly hms: string;
}

/**
 * The last minute written per zone, less its seconds: an export writes hundreds of thousands of
 * punches in time order, many to a minute, and `formatToParts` costs microseconds each.
 */
const lastMinute = new Map<string, { readonly minute: number; readonly fields: SiteFields }>();

function fields(ms: number, timezone: string): SiteFields {
  const minute = Math.floor(ms / 60_000);
  const second = String(Math.floor(ms / 1000) - minute * 60).padStart(2, '0');
  const memo = lastMinute.get(timezone);
  if (memo?.minute === minute) return { ...memo.fields, hms: `${memo.fields.hm}:${second}` };
  const found = formatFields(ms, timezone);
  // Only where the zone's offset is whole minutes (every zone today; not some before 1900).
  if (found.hms.endsWith(`:${second}`)) lastMinute.set(timezone, { minute, fields: found });
  return found;
}

function formatFields(ms: number, timezone: string): SiteFields {
  const f: Record<string, string> = {};
  for (const p of formatterFor(timezone).formatToParts(ms)) f[p.type] = p.value;
  return {
    date: `${f.year}-${f.month}-${f.day}`,
    monthDay: `${f.month}-${f.day}`,
    year: f.year ?? '',
    hm: `${f.hour}:${f.minute}`,
    hms: `${f.hour}:${f.minute}:${f.second}`,
  };
}

/** `YYYY-MM-DD HH:mm:ss` in the site's zone; `—` when there is no time. */
export function formatTime(ms: number | undefined, timezone: string): string {
  if (ms === undefined || !Number.isFinite(ms)) return NONE;
  const f = fields(ms, timezone);
  return `${f.date} ${f.hms}`;
}

/**
 * As short as is unambiguous next to `nowMs`: `HH:mm` on the site's today, `MM-DD HH:mm` within
 * its year, else the date alone.
 */
export function formatShortTime(ms: number | undefined, timezone: string, nowMs = Date.now()): string {
  if (ms === undefined || !Number.isFinite(ms)) return NONE;
  const f = fields(ms, timezone);
  const now = fields(nowMs, timezone);
  if (f.date === now.date) return f.hm;
  if (f.year === now.year) return `${f.monthDay} ${f.hm}`;
  return f.date;
}

/**
 * A terminal's own zone-less wall clock (`YYYY-MM-DDTHH:mm:ss`, as the ZK and ADMS families read it)
 * written the same way as every other time; anything else is returned as it came.
 */
export function formatWallClock(wall: string): string {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(wall) ? wall.replace('T', ' ') : wall;
}
