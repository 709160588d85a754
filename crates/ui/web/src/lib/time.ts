// Time ranges as Grafana writes them ("now-6h", "now/d", epoch ms, ISO dates), durations
// ("1m30s", "250ms"), and the step/interval arithmetic panels use.

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  M: 30 * 86_400_000,
  y: 365 * 86_400_000,
};

/** Milliseconds in a duration such as `5m`, `1h30m`, `1.5s`, `250ms`; null if not one. */
export function parseDuration(s: string): number | null {
  const t = s.trim();
  if (!t) return null;
  if (/^\d+(\.\d+)?$/.test(t)) return parseFloat(t) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|M|y)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t)) !== null) {
    total += parseFloat(m[1]) * UNITS[m[2]];
    pos = re.lastIndex;
  }
  return pos === t.length && pos > 0 ? total : null;
}

/** Shortest exact duration text: `90000` → `1m30s`, `500` → `500ms`. */
export function formatDuration(ms: number): string {
  if (ms <= 0 || !isFinite(ms)) return '0s';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const u of ['y', 'w', 'd', 'h', 'm', 's'] as const) {
    const n = Math.floor(rest / UNITS[u]);
    if (n > 0) {
      parts.push(`${n}${u}`);
      rest -= n * UNITS[u];
    }
  }
  if (rest > 0) parts.push(`${rest}ms`);
  return parts.join('');
}

/** Human-friendly duration for spans and traces (µs in): `1.23ms`, `4.5s`. */
export function formatMicros(us: number): string {
  if (us < 1000) return `${Math.round(us)}µs`;
  if (us < 1_000_000) return `${+(us / 1000).toFixed(2)}ms`;
  if (us < 60_000_000) return `${+(us / 1_000_000).toFixed(2)}s`;
  return formatDuration(us / 1000);
}

function startOf(d: Date, unit: string, end: boolean): Date {
  const r = new Date(d.getTime());
  switch (unit) {
    case 'y':
      r.setMonth(0, 1);
      r.setHours(0, 0, 0, 0);
      break;
    case 'M':
      r.setDate(1);
      r.setHours(0, 0, 0, 0);
      break;
    case 'w':
      r.setDate(r.getDate() - r.getDay());
      r.setHours(0, 0, 0, 0);
      break;
    case 'd':
      r.setHours(0, 0, 0, 0);
      break;
    case 'h':
      r.setMinutes(0, 0, 0);
      break;
    case 'm':
      r.setSeconds(0, 0);
      break;
    case 's':
      r.setMilliseconds(0);
      break;
  }
  if (!end) return r;
  // End of the unit: start of the next one, minus 1 ms.
  const n = new Date(r.getTime());
  switch (unit) {
    case 'y':
      n.setFullYear(n.getFullYear() + 1);
      break;
    case 'M':
      n.setMonth(n.getMonth() + 1);
      break;
    default:
      n.setTime(n.getTime() + UNITS[unit]);
  }
  return new Date(n.getTime() - 1);
}

/**
 * Epoch ms of a time expression: `now`, `now-6h`, `now-1d/d`, `now/w`, epoch ms, or a date
 * (`2024-01-02 10:00:00`, ISO). `roundUp` rounds `/unit` to the end of the unit (for `to`).
 */
export function parseTime(expr: string, roundUp = false, now = Date.now()): number | null {
  const s = expr.trim();
  if (/^\d{10,}$/.test(s)) return parseInt(s, 10);
  if (s.startsWith('now')) {
    let d = new Date(now);
    const re = /([+-])(\d+)(ms|s|m|h|d|w|M|y)|\/(s|m|h|d|w|M|y)/gy;
    re.lastIndex = 3;
    let m: RegExpExecArray | null;
    let pos = 3;
    while ((m = re.exec(s)) !== null) {
      if (m[4]) d = startOf(d, m[4], roundUp);
      else {
        const n = parseInt(m[2], 10) * (m[1] === '-' ? -1 : 1);
        if (m[3] === 'M') d.setMonth(d.getMonth() + n);
        else if (m[3] === 'y') d.setFullYear(d.getFullYear() + n);
        else d = new Date(d.getTime() + n * UNITS[m[3]]);
      }
      pos = re.lastIndex;
    }
    return pos === s.length ? d.getTime() : null;
  }
  const iso = s.includes('T') ? s : s.replace(' ', 'T');
  const t = Date.parse(iso);
  return isNaN(t) ? null : t;
}

export interface TimeRange {
  /** As written (`now-6h` or epoch ms). */
  raw: { from: string; to: string };
  /** Resolved, epoch ms. */
  from: number;
  to: number;
}

export function resolveRange(from: string, to: string, now = Date.now()): TimeRange | null {
  const f = parseTime(from, false, now);
  const t = parseTime(to, true, now);
  if (f === null || t === null || f >= t) return null;
  return { raw: { from, to }, from: f, to: t };
}

export const QUICK_RANGES: { from: string; label: string }[] = [
  { from: 'now-5m', label: 'Last 5 minutes' },
  { from: 'now-15m', label: 'Last 15 minutes' },
  { from: 'now-30m', label: 'Last 30 minutes' },
  { from: 'now-1h', label: 'Last 1 hour' },
  { from: 'now-3h', label: 'Last 3 hours' },
  { from: 'now-6h', label: 'Last 6 hours' },
  { from: 'now-12h', label: 'Last 12 hours' },
  { from: 'now-24h', label: 'Last 24 hours' },
  { from: 'now-2d', label: 'Last 2 days' },
  { from: 'now-7d', label: 'Last 7 days' },
  { from: 'now-30d', label: 'Last 30 days' },
];

export function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** `2024-01-02 10:00:00` in local time. */
export function formatDateTime(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** Label of a range for the time picker button. */
export function describeRange(r: TimeRange): string {
  const q = QUICK_RANGES.find((q) => q.from === r.raw.from && r.raw.to === 'now');
  if (q) return q.label;
  const show = (raw: string, ms: number) => (raw.startsWith('now') ? raw : formatDateTime(ms));
  return `${show(r.raw.from, r.from)} to ${show(r.raw.to, r.to)}`;
}

// Grafana's interval rounding (kbn.roundInterval): steps snap to human-friendly values.
const ROUND_STEPS: [number, number][] = [
  [15, 10],
  [35, 20],
  [75, 50],
  [150, 100],
  [350, 200],
  [750, 500],
  [1500, 1000],
  [3500, 2000],
  [7500, 5000],
  [12500, 10000],
  [17500, 15000],
  [25000, 20000],
  [45000, 30000],
  [90000, 60000],
  [210000, 120000],
  [450000, 300000],
  [750000, 600000],
  [1050000, 900000],
  [1500000, 1200000],
  [2700000, 1800000],
  [5400000, 3600000],
  [9000000, 7200000],
  [16200000, 10800000],
  [32400000, 21600000],
  [86400000, 43200000],
  [604800000, 86400000],
  [1814400000, 604800000],
  [3628800000, 2592000000],
];

export function roundInterval(ms: number): number {
  for (const [limit, value] of ROUND_STEPS) if (ms < limit) return value;
  return 31536000000;
}

/**
 * The query interval of a panel, as Grafana computes it: the range over the max data
 * points, rounded, but never below the minimum interval (a target's or panel's
 * `interval`, else the scrape interval). Milliseconds, at least 1 s.
 */
export function computeInterval(rangeMs: number, maxDataPoints: number, minInterval: number): number {
  const raw = roundInterval(rangeMs / Math.max(1, maxDataPoints));
  return Math.max(1000, minInterval, raw);
}

/**
 * The senders' scrape interval (`ui.scrape_interval`, given by the server in a `<meta>` tag
 * of the page; 15 s, Grafana's default, otherwise): the smallest step, and the base of
 * `$__rate_interval`.
 */
export const SCRAPE_INTERVAL_MS: number = (() => {
  const m = typeof document !== 'undefined' ? document.querySelector('meta[name="pharos-scrape-interval-ms"]') : null;
  const v = m ? parseInt(m.getAttribute('content') ?? '', 10) : NaN;
  return v > 0 ? v : 15_000;
})();
