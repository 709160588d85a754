// One value per series for stat, gauge and bar gauge panels (`reduceOptions`).

import type { Panel } from '../dashboard/model';
import type { Frame } from '../dashboard/query';
import { color, display, Display, FieldCfg, fieldConfig, reduce, thresholdColor } from './fieldConfig';

export interface Reduced {
  name: string;
  value: number | null;
  cfg: FieldCfg;
  frame: Frame;
  display: Display;
  color: string;
  min: number;
  max: number;
}

export function reduced(panel: Panel, frames: Frame[], defaultMax = 100): Reduced[] {
  const ro = panel.options?.reduceOptions ?? {};
  const calc: string = ro.calcs?.[0] ?? 'lastNotNull';
  let out: Reduced[] = [];
  for (const f of frames) {
    const cfg = fieldConfig(panel, f);
    const name = cfg.displayName ? cfg.displayName.replace(/\$\{__series\.name\}/g, f.name) : f.name;
    const values: { v: number | null; name: string }[] = ro.values
      ? f.values.map((v) => ({ v, name }))
      : [{ v: reduce(f.values, calc), name }];
    for (const { v, name: n } of values) out.push(entry(cfg, f, n, v, defaultMax));
  }
  if (ro.limit && ro.values) out = out.slice(0, ro.limit);
  return out;
}

function entry(cfg: FieldCfg, frame: Frame, name: string, value: number | null, defaultMax: number): Reduced {
  const min = cfg.min ?? 0;
  const max = cfg.max ?? defaultMax;
  const d = display(cfg, value);
  // Fixed color, else by thresholds (Grafana's default for these panels).
  const fixed = cfg.color?.mode === 'fixed' && cfg.color.fixedColor ? color(cfg.color.fixedColor) : null;
  const c = d.color ?? fixed ?? thresholdColor(cfg, value, min, max);
  return { name, value, cfg, frame, display: d, color: c, min, max };
}

/** Max across values when no max is configured (gauges need a scale). */
export function autoMax(items: Reduced[]): number {
  const vals = items.map((i) => i.value).filter((v): v is number => v !== null && isFinite(v));
  const m = vals.length ? Math.max(...vals) : 100;
  return m <= 0 ? 1 : m;
}
