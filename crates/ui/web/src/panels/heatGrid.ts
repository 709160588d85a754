// The grid of a heatmap panel: histogram buckets (`_bucket` series with `le`) over time.
// Cumulative Prometheus buckets are turned into per-bucket counts, as Grafana's `heatmap`
// format does; series without `le` are rows as they are.

import { align, Frame } from '../dashboard/query';

export interface HeatGrid {
  times: number[];
  /** Row labels, bottom to top. */
  buckets: string[];
  /** counts[bucket][time] */
  counts: (number | null)[][];
  max: number;
}

export function heatGrid(frames: Frame[]): HeatGrid {
  const withLe = frames.filter((f) => f.labels.le !== undefined);
  if (withLe.length) {
    // Sum series that share a bound (e.g. several instances), then sort by bound.
    const byLe = new Map<string, Frame[]>();
    for (const f of withLe) byLe.set(f.labels.le, [...(byLe.get(f.labels.le) ?? []), f]);
    const bound = (le: string) => (/^\+?inf$/i.test(le) ? Infinity : parseFloat(le));
    const les = [...byLe.keys()].sort((a, b) => bound(a) - bound(b));
    const [times, ...cols] = align(les.map((le) => merge(byLe.get(le)!)));
    const counts = cols.map((col, i) =>
      col.map((v, j) => {
        if (v === null) return null;
        const prev = i > 0 ? cols[i - 1][j] : 0;
        return Math.max(0, v - (prev ?? 0));
      }),
    );
    const buckets = les.map((le) => (le === '+Inf' ? '+Inf' : le));
    return { times, buckets, counts, max: maxOf(counts) };
  }
  const [times, ...cols] = align(frames);
  return { times, buckets: frames.map((f) => f.name), counts: cols, max: maxOf(cols) };
}

function merge(frames: Frame[]): Frame {
  if (frames.length === 1) return frames[0];
  const [times, ...cols] = align(frames);
  const values = times.map((_, i) => {
    let s: number | null = null;
    for (const c of cols) if (c[i] !== null) s = (s ?? 0) + c[i]!;
    return s;
  });
  return { ...frames[0], times, values };
}

function maxOf(cols: (number | null)[][]): number {
  let m = 0;
  for (const c of cols) for (const v of c) if (v !== null && v > m) m = v;
  return m;
}

