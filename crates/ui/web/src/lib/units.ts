// Value formatting by Grafana unit id (`bytes`, `s`, `percentunit`, `reqps`, …) and decimals.

export interface Formatted {
  text: string;
  suffix: string;
  prefix?: string;
}

export function fmtNumber(v: number, decimals?: number | null): string {
  if (!isFinite(v)) return isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
  if (decimals != null && decimals >= 0) return v.toFixed(Math.min(20, decimals));
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e15 || a < 1e-6) return v.toExponential(2);
  // Auto: about 3 significant digits, more for small numbers, trailing zeros dropped.
  const d = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : Math.min(6, 2 - Math.floor(Math.log10(a)));
  return String(parseFloat(v.toFixed(d)));
}

function scaled(v: number, decimals: number | null | undefined, base: number, units: string[], offset = 0): Formatted {
  let i = offset;
  let x = v;
  while (Math.abs(x) >= base && i < units.length - 1) {
    x /= base;
    i++;
  }
  return { text: fmtNumber(x, decimals), suffix: units[i] };
}

const SI = ['', ' K', ' M', ' B', ' T', ' Q'];
const IEC_B = [' B', ' KiB', ' MiB', ' GiB', ' TiB', ' PiB', ' EiB'];
const SI_B = [' B', ' kB', ' MB', ' GB', ' TB', ' PB', ' EB'];

function short(v: number, decimals?: number | null, suffix = ''): Formatted {
  const f = scaled(v, decimals, 1000, SI);
  return { text: f.text, suffix: f.suffix + suffix };
}

/** Time in seconds, scaled to the most readable unit. */
function seconds(v: number, decimals?: number | null): Formatted {
  const a = Math.abs(v);
  if (a === 0) return { text: '0', suffix: ' s' };
  if (a < 1e-6) return { text: fmtNumber(v * 1e9, decimals), suffix: ' ns' };
  if (a < 1e-3) return { text: fmtNumber(v * 1e6, decimals), suffix: ' µs' };
  if (a < 1) return { text: fmtNumber(v * 1e3, decimals), suffix: ' ms' };
  if (a < 60) return { text: fmtNumber(v, decimals), suffix: ' s' };
  if (a < 3600) return { text: fmtNumber(v / 60, decimals), suffix: ' min' };
  if (a < 86400) return { text: fmtNumber(v / 3600, decimals), suffix: ' hour' };
  if (a < 604800) return { text: fmtNumber(v / 86400, decimals), suffix: ' day' };
  return { text: fmtNumber(v / 604800, decimals), suffix: ' week' };
}

const RATE_SUFFIX: Record<string, string> = {
  reqps: ' req/s',
  rps: ' rd/s',
  wps: ' wr/s',
  iops: ' io/s',
  ops: ' ops/s',
  opm: ' ops/min',
  reqpm: ' req/min',
  cps: ' c/s',
  cpm: ' c/m',
  pps: ' p/s',
  eps: ' evt/s',
  mps: ' msg/s',
};

/** Formats `v` in `unit`. Unknown units fall back to a short number with the unit as suffix. */
export function formatValue(v: number | null | undefined, unit?: string, decimals?: number | null): Formatted {
  if (v === null || v === undefined) return { text: 'No data', suffix: '' };
  if (!isFinite(v)) return { text: fmtNumber(v), suffix: '' };
  const u = unit ?? '';
  switch (u) {
    case '':
    case 'short':
      return short(v, decimals);
    case 'none':
      return { text: fmtNumber(v, decimals), suffix: '' };
    case 'percent':
      return { text: fmtNumber(v, decimals), suffix: '%' };
    case 'percentunit':
      return { text: fmtNumber(v * 100, decimals), suffix: '%' };
    case 'bytes':
      return scaled(v, decimals, 1024, IEC_B);
    case 'decbytes':
      return scaled(v, decimals, 1000, SI_B);
    case 'kbytes':
      return scaled(v, decimals, 1024, IEC_B, 1);
    case 'mbytes':
      return scaled(v, decimals, 1024, IEC_B, 2);
    case 'bits':
      return scaled(v, decimals, 1000, [' b', ' kb', ' Mb', ' Gb', ' Tb']);
    case 'Bps':
      return scaled(v, decimals, 1000, SI_B.map((s) => s + '/s'));
    case 'binBps':
      return scaled(v, decimals, 1024, IEC_B.map((s) => s + '/s'));
    case 'bps':
      return scaled(v, decimals, 1000, [' b/s', ' kb/s', ' Mb/s', ' Gb/s', ' Tb/s']);
    case 's':
      return seconds(v, decimals);
    case 'ms':
      return seconds(v / 1e3, decimals);
    case 'µs':
    case 'us':
      return seconds(v / 1e6, decimals);
    case 'ns':
      return seconds(v / 1e9, decimals);
    case 'dtdurations':
    case 'dtdurationms':
      return seconds(u === 'dtdurationms' ? v / 1000 : v, decimals);
    case 'hertz':
      return scaled(v, decimals, 1000, [' Hz', ' kHz', ' MHz', ' GHz']);
    case 'celsius':
      return { text: fmtNumber(v, decimals), suffix: '°C' };
    case 'bool':
      return { text: v ? 'true' : 'false', suffix: '' };
    case 'dateTimeAsIso':
    case 'dateTimeAsSystem':
      return { text: new Date(v).toISOString().replace('T', ' ').slice(0, 19), suffix: '' };
    case 'dateTimeFromNow': {
      const s = (Date.now() - v) / 1000;
      const f = seconds(Math.abs(s), 0);
      return { text: f.text, suffix: f.suffix + (s >= 0 ? ' ago' : ' from now') };
    }
    case 'currencyUSD':
      return { prefix: '$', ...short(v, decimals) };
    case 'currencyEUR':
      return { prefix: '€', ...short(v, decimals) };
  }
  if (RATE_SUFFIX[u]) return short(v, decimals, RATE_SUFFIX[u]);
  if (u.startsWith('suffix:')) return { text: fmtNumber(v, decimals), suffix: u.slice(7) };
  if (u.startsWith('prefix:')) return { prefix: u.slice(7), text: fmtNumber(v, decimals), suffix: '' };
  return short(v, decimals, ' ' + u);
}

export function formatText(v: number | null | undefined, unit?: string, decimals?: number | null): string {
  const f = formatValue(v, unit, decimals);
  return (f.prefix ?? '') + f.text + f.suffix;
}
