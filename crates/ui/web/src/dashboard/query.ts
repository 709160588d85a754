// Running a panel's targets: interpolation, step, range/instant queries and exemplars,
// into frames (one per series) the panels draw.

import * as api from '../lib/api';
import { computeInterval, parseDuration, SCRAPE_INTERVAL_MS, TimeRange } from '../lib/time';
import { Panel, Target, isPrometheus, dsName } from './model';
import { interpolate, macros, Scope } from './variables';

export interface Frame {
  refId: string;
  /** Display name (legend). */
  name: string;
  labels: api.Metric;
  /** Epoch ms. */
  times: number[];
  values: (number | null)[];
  /** From an instant query or a `table` target. */
  instant: boolean;
  format: string;
}

export interface ExemplarPoint {
  time: number;
  value: number;
  labels: api.Metric;
  seriesLabels: api.Metric;
  traceId: string | null;
}

export interface PanelData {
  frames: Frame[];
  exemplars: ExemplarPoint[];
  warnings: string[];
  /** Prometheus's informational annotations (e.g. "PromQL info: …"). */
  infos: string[];
  /** Interval used (ms), for display. */
  intervalMs: number;
  /** The queries actually sent, for the panel inspector. */
  queries: { refId: string; expr: string; step: number; instant: boolean }[];
}

/** `{{label}}` legend templates; empty or `__auto` gives the series' text. */
export function legendName(fmt: string | undefined, metric: api.Metric, scope: Scope): string {
  if (fmt && fmt !== '__auto') {
    const s = interpolate(fmt, scope, false);
    return s.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_, k) => metric[k] ?? '');
  }
  const { __name__, ...rest } = metric;
  const labels = Object.entries(rest).map(([k, v]) => `${k}="${v}"`);
  if (!labels.length) return __name__ ?? '{}';
  return `${__name__ ?? ''}{${labels.join(', ')}}`;
}

export function parseValue(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return parseFloat(s);
}

const TRACE_LABELS = ['trace_id', 'traceID', 'traceId', 'TraceID'];

export function traceIdOf(labels: api.Metric): string | null {
  for (const k of TRACE_LABELS) if (labels[k]) return labels[k];
  return null;
}

/** Refs A, B, C… for targets without one. */
function refId(t: Target, i: number): string {
  return t.refId || String.fromCharCode(65 + (i % 26));
}

export interface RunOptions {
  range: TimeRange;
  scope: Scope;
  /** Width of the panel in pixels: the default number of points. */
  widthPx: number;
  signal?: AbortSignal;
  /** Load exemplars for targets that ask for them. */
  exemplars?: boolean;
}

export async function runPanel(panel: Panel, opts: RunOptions): Promise<PanelData> {
  const { range, scope } = opts;
  const targets = (panel.targets ?? []).filter((t) => !t.hide);
  const out: PanelData = { frames: [], exemplars: [], warnings: [], infos: [], intervalMs: 0, queries: [] };
  const maxPoints = panel.maxDataPoints ?? Math.max(100, Math.min(11000, Math.round(opts.widthPx)));
  const jobs = targets.map(async (t, i) => {
    if (!isPrometheus(t.datasource ?? panel.datasource))
      throw new Error(`data source "${dsName(t.datasource ?? panel.datasource)}" is not supported by Pharos (Prometheus only)`);
    if (!t.expr?.trim()) return;
    const minRaw = interpolate(t.interval || panel.interval || '', scope, false).replace(/^>/, '');
    const minStep = parseDuration(minRaw) ?? 0;
    let intervalMs = computeInterval(range.to - range.from, maxPoints, minStep || SCRAPE_INTERVAL_MS);
    if (t.intervalFactor && t.intervalFactor > 1) intervalMs *= t.intervalFactor;
    out.intervalMs = Math.max(out.intervalMs, intervalMs);
    const local: Scope = { vars: scope.vars, builtins: { ...macros(range, intervalMs, minStep), ...scope.builtins } };
    const expr = interpolate(t.expr, local, true);
    const ref = refId(t, i);
    const format = t.format ?? 'time_series';
    const instant = !!t.instant && !t.range;
    const step = intervalMs / 1000;
    out.queries.push({ refId: ref, expr, step, instant });
    if (instant) {
      const r = await api.queryInstant(expr, range.to / 1000, opts.signal);
      out.warnings.push(...r.warnings);
      out.infos.push(...r.infos);
      out.frames.push(...toFrames(r.data, t, ref, local, true, format));
    } else {
      const start = Math.floor(range.from / 1000 / step) * step;
      const end = Math.ceil(range.to / 1000 / step) * step;
      const [r, ex] = await Promise.all([
        api.queryRange(expr, start, end, step, opts.signal),
        t.exemplar && opts.exemplars !== false
          ? api.queryExemplars(expr, range.from / 1000, range.to / 1000, opts.signal).catch(() => [])
          : Promise.resolve([]),
      ]);
      out.warnings.push(...r.warnings);
      out.infos.push(...r.infos);
      out.frames.push(...toFrames(r.data, t, ref, local, false, format));
      for (const s of ex)
        for (const e of s.exemplars)
          out.exemplars.push({
            time: e.timestamp * 1000,
            value: parseValue(e.value),
            labels: e.labels,
            seriesLabels: s.seriesLabels,
            traceId: traceIdOf(e.labels),
          });
    }
  });
  const settled = await Promise.allSettled(jobs);
  const failed = settled.find((s) => s.status === 'rejected') as PromiseRejectedResult | undefined;
  if (failed) throw failed.reason;
  out.frames.sort((a, b) => (a.refId < b.refId ? -1 : a.refId > b.refId ? 1 : 0));
  return out;
}

function toFrames(d: api.QueryData, t: Target, ref: string, scope: Scope, instant: boolean, format: string): Frame[] {
  const frame = (metric: api.Metric, pairs: api.SamplePair[]): Frame => ({
    refId: ref,
    name: legendName(t.legendFormat, metric, scope),
    labels: metric,
    times: pairs.map((p) => Math.round(p[0] * 1000)),
    values: pairs.map((p) => parseValue(p[1])),
    instant,
    format,
  });
  switch (d.resultType) {
    case 'matrix':
      return d.result.map((s) => frame(s.metric, s.values ?? []));
    case 'vector':
      return d.result.map((s) => frame(s.metric, s.value ? [s.value] : []));
    case 'scalar':
      return [frame({}, [d.result])];
    case 'string':
      return [];
  }
}

/**
 * Aligns frames on one time axis (the union of their timestamps), for uPlot.
 * Returns [times, ...values per frame].
 */
export function align(frames: Frame[]): [number[], ...(number | null)[][]] {
  const set = new Set<number>();
  for (const f of frames) for (const t of f.times) set.add(t);
  const times = [...set].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const cols = frames.map((f) => {
    const col: (number | null)[] = new Array(times.length).fill(null);
    f.times.forEach((t, i) => {
      const v = f.values[i];
      col[index.get(t)!] = v !== null && isFinite(v) ? v : null;
    });
    return col;
  });
  return [times, ...cols];
}
