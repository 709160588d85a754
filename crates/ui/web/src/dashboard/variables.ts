// Dashboard variables (Grafana templating): options from the Prometheus API, selection,
// and interpolation of `$var`, `${var}`, `${var:format}`, `[[var]]` and the `$__` macros.

import * as api from '../lib/api';
import { computeInterval, formatDuration, parseDuration, SCRAPE_INTERVAL_MS, TimeRange } from '../lib/time';

export const ALL = '$__all';

export interface Option {
  text: string;
  value: string;
}

export interface VarState {
  name: string;
  type: string;
  label: string;
  hide: number;
  multi: boolean;
  includeAll: boolean;
  allValue: string | null;
  options: Option[];
  /** Selected values (`$__all` for All). */
  value: string[];
  /** Query text (interval/custom/textbox variables use it for options). */
  query: string;
  model: any;
  error?: string;
  loading?: boolean;
}

const VAR_RE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}/g;

/** Names of the variables an expression uses. */
export function referencedVars(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(VAR_RE)) out.push(m[1] ?? m[2] ?? m[4]);
  return out;
}

export function queryText(model: any): string {
  const q = model?.query;
  if (typeof q === 'string') return q;
  if (q && typeof q === 'object') {
    if (typeof q.query === 'string') return q.query;
    // Grafana ≥ 10 structured form: {qryType: 1, label, metric}.
    if (q.qryType === 1 && q.label) return q.metric ? `label_values(${q.metric}, ${q.label})` : `label_values(${q.label})`;
    if (q.qryType === 0) return 'label_names()';
  }
  return '';
}

export function initState(model: any): VarState {
  return {
    name: String(model.name),
    type: String(model.type ?? 'query'),
    label: model.label || model.name,
    hide: typeof model.hide === 'number' ? model.hide : 0,
    multi: !!model.multi,
    includeAll: !!model.includeAll,
    allValue: model.allValue ? String(model.allValue) : null,
    options: [],
    value: [],
    query: queryText(model),
    model,
  };
}

// ---- interpolation ----

/** Prometheus's regex escaping for values put into `=~` matchers (Grafana's rules). */
export function promRegexEscape(v: string): string {
  return v.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]'+?.()|]/g, '\\\\$&');
}

function promPlainEscape(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}

export interface Scope {
  vars: Map<string, VarState>;
  /** Macro values (`__interval`, `__range`, …) and repeat values. */
  builtins: Record<string, string>;
}

function selectedValues(v: VarState): { values: string[]; all: boolean } {
  if (v.value.includes(ALL)) {
    if (v.allValue !== null) return { values: [v.allValue], all: true };
    return { values: v.options.filter((o) => o.value !== ALL).map((o) => o.value), all: true };
  }
  return { values: v.value, all: false };
}

function format(v: VarState, fmt: string | undefined, forProm: boolean, field?: string): string {
  const { values, all } = selectedValues(v);
  if (field === 'text' || fmt === 'text') {
    if (all) return 'All';
    return values.map((x) => v.options.find((o) => o.value === x)?.text ?? x).join(' + ');
  }
  if (all && v.allValue !== null && !fmt) return v.allValue;
  switch (fmt) {
    case 'raw':
      return values.join(',');
    case 'csv':
      return values.join(',');
    case 'pipe':
      return values.join('|');
    case 'json':
      return JSON.stringify(values);
    case 'doublequote':
      return values.map((x) => `"${x}"`).join(',');
    case 'singlequote':
      return values.map((x) => `'${x}'`).join(',');
    case 'queryparam':
      return values.map((x) => `var-${v.name}=${encodeURIComponent(x)}`).join('&');
    case 'percentencode':
      return encodeURIComponent(values.join(','));
    case 'regex': {
      const esc = values.map((x) => x.replace(/[\\^$*+?.()|[\]{}\/]/g, '\\$&'));
      return esc.length === 1 ? esc[0] : `(${esc.join('|')})`;
    }
    case 'glob':
      return values.length === 1 ? values[0] : `{${values.join(',')}}`;
  }
  if (!forProm) return values.join(',');
  if (!v.multi && !v.includeAll) return promPlainEscape(values[0] ?? '');
  const esc = values.map(promRegexEscape);
  return esc.length === 1 ? esc[0] : `(${esc.join('|')})`;
}

/**
 * Replaces variables and macros in `text`. `forProm` applies Grafana's Prometheus escaping
 * (multi-values as `(a|b)` regex alternatives); otherwise values are joined with commas.
 */
export function interpolate(text: string, scope: Scope, forProm = true): string {
  if (!text.includes('$') && !text.includes('[[')) return text;
  return text.replace(VAR_RE, (whole, n1, n2, f2, n4, field, f4) => {
    const name: string = n1 ?? n2 ?? n4;
    const fmt: string | undefined = f2 ?? f4;
    if (name in scope.builtins) return scope.builtins[name];
    const v = scope.vars.get(name);
    if (!v) return whole;
    return format(v, fmt, forProm, field);
  });
}

/** The macros of a query: `$__interval`, `$__rate_interval`, `$__range`, … */
export function macros(range: TimeRange, intervalMs: number, minStepMs?: number): Record<string, string> {
  const rangeMs = range.to - range.from;
  const scrape = minStepMs && minStepMs > 0 ? minStepMs : SCRAPE_INTERVAL_MS;
  const rate = Math.max(intervalMs + scrape, 4 * scrape);
  return {
    __interval: formatDuration(intervalMs),
    __interval_ms: String(Math.round(intervalMs)),
    __rate_interval: formatDuration(rate),
    __rate_interval_ms: String(rate),
    __range: `${Math.round(rangeMs / 1000)}s`,
    __range_s: String(Math.round(rangeMs / 1000)),
    __range_ms: String(Math.round(rangeMs)),
    __from: String(Math.round(range.from)),
    __to: String(Math.round(range.to)),
    __auto: formatDuration(intervalMs),
  };
}

// ---- options ----

function parseRegex(src: string): RegExp | null {
  const m = /^\/(.*)\/([gimsuy]*)$/s.exec(src.trim());
  try {
    return m ? new RegExp(m[1], m[2].replace('g', '')) : new RegExp(src);
  } catch {
    return null;
  }
}

/** Applies a variable's `regex`: keeps matches; group `value`/`text` or group 1 is the value. */
export function applyRegex(values: string[], regex: string): Option[] {
  if (!regex) return values.map((v) => ({ text: v, value: v }));
  const re = parseRegex(regex);
  if (!re) throw new Error(`invalid regex ${regex}`);
  const out: Option[] = [];
  const seen = new Set<string>();
  for (const v of values) {
    const m = re.exec(v);
    if (!m) continue;
    const value = m.groups?.value ?? m.groups?.text ?? m[1] ?? m[0];
    const text = m.groups?.text ?? value;
    if (value === undefined || seen.has(value)) continue;
    seen.add(value);
    out.push({ text, value });
  }
  return out;
}

function sortOptions(opts: Option[], sort: number): Option[] {
  if (!sort) return opts;
  const natural = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  const numOf = (t: string) => {
    const m = /-?\d+(\.\d+)?/.exec(t);
    return m ? parseFloat(m[0]) : NaN;
  };
  const cmp: Record<number, (a: Option, b: Option) => number> = {
    1: (a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0),
    2: (a, b) => (a.text < b.text ? 1 : a.text > b.text ? -1 : 0),
    3: (a, b) => numOf(a.text) - numOf(b.text),
    4: (a, b) => numOf(b.text) - numOf(a.text),
    5: (a, b) => a.text.toLowerCase().localeCompare(b.text.toLowerCase()),
    6: (a, b) => b.text.toLowerCase().localeCompare(a.text.toLowerCase()),
    7: (a, b) => natural.compare(a.text, b.text),
    8: (a, b) => natural.compare(b.text, a.text),
  };
  return cmp[sort] ? [...opts].sort(cmp[sort]) : opts;
}

function metricString(m: api.Metric): string {
  const { __name__, ...rest } = m;
  const labels = Object.entries(rest)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  return `${__name__ ?? ''}{${labels}}`;
}

/** Values of a `query` variable, the way Grafana's Prometheus data source computes them. */
export async function runVariableQuery(query: string, range: TimeRange): Promise<string[]> {
  const start = range.from / 1000;
  const end = range.to / 1000;
  const q = query.trim();
  let m: RegExpExecArray | null;
  if ((m = /^label_names\(\s*(.*?)\s*\)$/s.exec(q))) {
    const match = m[1] ? [`{__name__=~".*${m[1]}.*"}`] : [];
    return api.labelNames(match, start, end);
  }
  if ((m = /^label_values\(\s*(?:(.*),\s*)?([a-zA-Z_][\w.]*)\s*\)$/s.exec(q))) {
    const match = m[1] ? [m[1].trim()] : [];
    return api.labelValues(m[2], match, start, end);
  }
  if ((m = /^metrics\(\s*(.*?)\s*\)$/s.exec(q))) {
    const names = await api.labelValues('__name__', [], start, end);
    const re = m[1] ? new RegExp(m[1]) : null;
    return re ? names.filter((n) => re.test(n)) : names;
  }
  if ((m = /^query_result\(\s*(.*)\s*\)$/s.exec(q))) {
    const r = await api.queryInstant(m[1], end);
    const d = r.data;
    if (d.resultType === 'vector')
      return d.result.map((s) => `${metricString(s.metric)} ${s.value?.[1]} ${Math.round((s.value?.[0] ?? 0) * 1000)}`);
    if (d.resultType === 'scalar' || d.resultType === 'string') return [String(d.result[1])];
    throw new Error(`query_result: unsupported result type ${d.resultType}`);
  }
  if (!q) return [];
  return (await api.series([q], start, end)).map(metricString);
}

/** Options of a custom variable: `a,b,c` or `text : value` pairs; `\,` escapes a comma. */
export function customOptions(query: string): Option[] {
  const parts = query.match(/(?:\\,|[^,])+/g) ?? [];
  return parts.map((p) => {
    const t = p.trim().replace(/\\,/g, ',');
    const kv = /^(.+?)\s:\s(.+)$/.exec(t);
    return kv ? { text: kv[1].trim(), value: kv[2].trim() } : { text: t, value: t };
  });
}

/** Computes the options of one variable (other variables already resolved in `scope`). */
export async function loadOptions(v: VarState, scope: Scope, range: TimeRange): Promise<Option[]> {
  const model = v.model;
  switch (v.type) {
    case 'query': {
      const q = interpolate(v.query, scope, true);
      const values = await runVariableQuery(q, range);
      return sortOptions(applyRegex(values, model.regex ?? ''), model.sort ?? 0);
    }
    case 'custom':
      return customOptions(v.query);
    case 'interval': {
      const opts = v.query
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .map((s) => ({ text: s, value: s }));
      if (model.auto) opts.unshift({ text: 'auto', value: '$__auto_interval_' + v.name });
      return opts;
    }
    case 'constant':
      return [{ text: v.query, value: v.query }];
    case 'textbox': {
      const cur = v.value[0] ?? model.current?.value ?? v.query ?? '';
      return [{ text: String(cur), value: String(cur) }];
    }
    case 'datasource': {
      const kind = v.query || 'prometheus';
      if (!/prometheus/i.test(kind)) return [];
      const re = model.regex ? parseRegex(model.regex) : null;
      if (re && !re.test('Pharos') && !re.test('prometheus')) return [];
      return [{ text: 'Pharos', value: 'prometheus' }];
    }
    default:
      return [];
  }
}

/** Value of an interval variable whose `auto` option is chosen. */
export function autoInterval(v: VarState, range: TimeRange): string {
  const count = v.model.auto_count ?? 30;
  const min = parseDuration(v.model.auto_min ?? '10s') ?? 10_000;
  return formatDuration(computeInterval(range.to - range.from, count, min));
}

/**
 * Chooses the selection after options change: the wanted values (URL or user) if valid,
 * else the dashboard's saved `current`, else All (if offered and saved) or the first option.
 */
export function pickValue(v: VarState, wanted: string[] | null): string[] {
  const valid = (vals: string[]) => {
    if (v.type === 'textbox' || v.type === 'constant') return vals;
    const ok = vals.filter((x) => x === ALL ? v.includeAll : v.options.some((o) => o.value === x));
    return v.multi ? ok : ok.slice(0, 1);
  };
  if (wanted && wanted.length) {
    const ok = valid(wanted);
    if (ok.length) return ok;
  }
  const cur = v.model.current?.value;
  const saved = (Array.isArray(cur) ? cur : cur != null ? [cur] : []).map((x: any) => (x === '$__all' || x === 'All' ? ALL : String(x)));
  const okSaved = valid(saved);
  if (okSaved.length) return okSaved;
  if (v.includeAll && (saved.length === 0 || saved[0] === ALL)) return [ALL];
  if (v.options.length) return [v.options[0].value];
  return v.includeAll ? [ALL] : [];
}

/** Variables (by index) that must be refreshed when `changed` changes, in list order. */
export function dependents(vars: VarState[], changed: string): number[] {
  const dirty = new Set([changed]);
  const out: number[] = [];
  for (let i = 0; i < vars.length; i++) {
    const v = vars[i];
    if (v.type !== 'query') continue;
    if (referencedVars(v.query).some((r) => dirty.has(r))) {
      dirty.add(v.name);
      out.push(i);
    }
  }
  return out;
}

/** Options presented to the user (All first when offered). */
export function displayOptions(v: VarState): Option[] {
  return v.includeAll ? [{ text: 'All', value: ALL }, ...v.options] : v.options;
}

/** Resolves the `$__auto_interval_x` value of an interval variable into a scope entry. */
export function effectiveScope(vars: VarState[], range: TimeRange, builtins: Record<string, string>): Scope {
  const map = new Map<string, VarState>();
  for (const v of vars) {
    if (v.type === 'interval' && v.value[0]?.startsWith('$__auto_interval_')) {
      const val = autoInterval(v, range);
      map.set(v.name, { ...v, value: [val], options: [{ text: val, value: val }] });
    } else map.set(v.name, v);
  }
  return { vars: map, builtins };
}
