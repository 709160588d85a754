// PromQL completion: what kind of word the cursor is in (metric, label name, label value)
// and the candidates from the Prometheus API, cached per page.

import * as api from '../lib/api';

export const FUNCTIONS = [
  'abs', 'absent', 'absent_over_time', 'avg_over_time', 'ceil', 'changes', 'clamp', 'clamp_max', 'clamp_min',
  'count_over_time', 'day_of_month', 'day_of_week', 'day_of_year', 'days_in_month', 'delta', 'deriv', 'exp', 'floor',
  'histogram_quantile', 'holt_winters', 'hour', 'idelta', 'increase', 'irate', 'label_join', 'label_replace', 'last_over_time',
  'ln', 'log10', 'log2', 'max_over_time', 'min_over_time', 'minute', 'month', 'predict_linear', 'present_over_time',
  'quantile_over_time', 'rate', 'resets', 'round', 'scalar', 'sgn', 'sort', 'sort_desc', 'sqrt', 'stddev_over_time',
  'stdvar_over_time', 'sum_over_time', 'time', 'timestamp', 'vector', 'year',
];
export const AGGREGATIONS = ['sum', 'avg', 'min', 'max', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group'];
export const KEYWORDS = ['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless'];

export type Context =
  | { kind: 'metric'; prefix: string; from: number }
  | { kind: 'labelName'; metric: string; prefix: string; from: number; used: string[] }
  | { kind: 'labelValue'; metric: string; label: string; prefix: string; from: number }
  | { kind: 'none' };

/** The completion context at `pos` in `text`. */
export function contextAt(text: string, pos: number): Context {
  const before = text.slice(0, pos);
  // Inside braces?
  const open = before.lastIndexOf('{');
  const close = before.lastIndexOf('}');
  if (open > close) {
    const inner = before.slice(open + 1);
    const metric = /([a-zA-Z_:][\w:]*)\s*$/.exec(before.slice(0, open))?.[1] ?? '';
    const value = /([a-zA-Z_][\w.]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)$/.exec(inner);
    if (value) return { kind: 'labelValue', metric, label: value[1], prefix: value[3], from: pos - value[3].length };
    const quotes = (inner.match(/"/g) ?? []).length;
    if (quotes % 2 === 0) {
      const name = /([a-zA-Z_][\w.]*)?$/.exec(inner)![0] ?? '';
      const used = [...inner.matchAll(/([a-zA-Z_][\w.]*)\s*(=~|!~|!=|=)/g)].map((m) => m[1]);
      return { kind: 'labelName', metric, prefix: name, from: pos - name.length, used };
    }
    return { kind: 'none' };
  }
  // Inside `by (...)` / `without (...)`: label names.
  const grouping = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)$/.exec(before);
  if (grouping) {
    const name = /([a-zA-Z_][\w.]*)?$/.exec(grouping[2])![0] ?? '';
    const metric = /([a-zA-Z_:][\w:]*)\s*(\{|\[|\))/.exec(text)?.[1] ?? '';
    return { kind: 'labelName', metric, prefix: name, from: pos - name.length, used: [] };
  }
  const quotes = (before.match(/"/g) ?? []).length;
  if (quotes % 2 === 1) return { kind: 'none' };
  if (/\[[^\]]*$/.test(before)) return { kind: 'none' };
  const word = /([a-zA-Z_:][\w:]*)$/.exec(before)?.[1] ?? '';
  return { kind: 'metric', prefix: word, from: pos - word.length };
}

let metricNames: Promise<string[]> | null = null;
const labelCache = new Map<string, Promise<string[]>>();

export function allMetricNames(): Promise<string[]> {
  if (!metricNames) metricNames = api.labelValues('__name__').catch(() => ((metricNames = null), []));
  return metricNames;
}

function cached(key: string, f: () => Promise<string[]>): Promise<string[]> {
  let p = labelCache.get(key);
  if (!p) {
    p = f().catch(() => (labelCache.delete(key), []));
    labelCache.set(key, p);
  }
  return p;
}

export interface Suggestion {
  text: string;
  kind: 'metric' | 'function' | 'label' | 'value' | 'keyword';
  /** Text to insert (defaults to `text`). */
  insert?: string;
}

export async function suggestions(ctx: Context): Promise<Suggestion[]> {
  const match = (s: string, p: string) => s.toLowerCase().includes(p.toLowerCase());
  switch (ctx.kind) {
    case 'metric': {
      if (!ctx.prefix) return [];
      const names = await allMetricNames();
      const m = names.filter((n) => match(n, ctx.prefix)).map((n): Suggestion => ({ text: n, kind: 'metric' }));
      const f = [...FUNCTIONS, ...AGGREGATIONS]
        .filter((n) => n.startsWith(ctx.prefix))
        .map((n): Suggestion => ({ text: n, kind: 'function', insert: n + '(' }));
      const k = KEYWORDS.filter((n) => n.startsWith(ctx.prefix)).map((n): Suggestion => ({ text: n, kind: 'keyword' }));
      // Prefix matches first.
      const rank = (s: Suggestion) => (s.text.startsWith(ctx.prefix) ? 0 : 1);
      return [...f, ...k, ...m].sort((a, b) => rank(a) - rank(b)).slice(0, 200);
    }
    case 'labelName': {
      const matches = ctx.metric ? [ctx.metric] : [];
      const names = await cached('l:' + ctx.metric, () => api.labelNames(matches));
      return names
        .filter((n) => n !== '__name__' && !ctx.used.includes(n) && match(n, ctx.prefix))
        .map((n) => ({ text: n, kind: 'label' as const }));
    }
    case 'labelValue': {
      const matches = ctx.metric ? [ctx.metric] : [];
      const values = await cached(`v:${ctx.metric}:${ctx.label}`, () => api.labelValues(ctx.label, matches));
      return values
        .filter((v) => match(v, ctx.prefix))
        .slice(0, 500)
        .map((v) => ({ text: v, kind: 'value' as const, insert: v.replace(/\\/g, '\\\\').replace(/"/g, '\\"') }));
    }
    default:
      return [];
  }
}
