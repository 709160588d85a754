// Field config: defaults plus overrides (by name, regexp, query, type) per series, colors,
// thresholds, value mappings and the reducers behind legend calcs and stat values.

import type { FieldConfigDefaults, Override, Panel, Threshold } from '../dashboard/model';
import type { Frame } from '../dashboard/query';
import { formatValue, Formatted } from '../lib/units';

const NAMED: Record<string, string> = {
  green: '#73BF69',
  'dark-green': '#37872D',
  'semi-dark-green': '#56A64B',
  'light-green': '#96D98D',
  red: '#F2495C',
  'dark-red': '#C4162A',
  'semi-dark-red': '#E02F44',
  'light-red': '#FF7383',
  yellow: '#FADE2A',
  'dark-yellow': '#E0B400',
  'semi-dark-yellow': '#F2CC0C',
  orange: '#FF9830',
  'dark-orange': '#FA6400',
  'semi-dark-orange': '#FF780A',
  blue: '#5794F2',
  'dark-blue': '#1F60C4',
  'semi-dark-blue': '#3274D9',
  'light-blue': '#8AB8FF',
  purple: '#B877D9',
  'dark-purple': '#8F3BB8',
  'semi-dark-purple': '#A352CC',
  text: '#ccccdc',
  transparent: 'transparent',
};

export const PALETTE = [
  '#73BF69', '#F2CC0C', '#8AB8FF', '#FF780A', '#F2495C', '#5794F2', '#B877D9', '#705DA0',
  '#37872D', '#FADE2A', '#447EBC', '#C15C17', '#890F02', '#0A437C', '#6D1F62', '#584477',
  '#B7DBAB', '#F4D598', '#70DBED', '#F9BA8F', '#F29191', '#82B5D8', '#E5A8E2', '#AEA2E0',
];

export function color(c: string | undefined, fallback = '#73BF69'): string {
  if (!c) return fallback;
  return NAMED[c] ?? c;
}

export interface FieldCfg extends FieldConfigDefaults {
  custom: Record<string, any>;
}

function setPath(obj: any, path: string, value: any) {
  const parts = path.split('.');
  let o = obj;
  for (let i = 0; i < parts.length - 1; i++) {
    o[parts[i]] = typeof o[parts[i]] === 'object' && o[parts[i]] !== null ? { ...o[parts[i]] } : {};
    o = o[parts[i]];
  }
  o[parts[parts.length - 1]] = value;
}

function matches(o: Override, frame: Frame): boolean {
  const opt = o.matcher.options;
  switch (o.matcher.id) {
    case 'byName':
      return frame.name === opt || (typeof opt === 'object' && opt?.names?.includes(frame.name));
    case 'byRegexp':
      try {
        return new RegExp(String(opt)).test(frame.name);
      } catch {
        return false;
      }
    case 'byFrameRefID':
      return frame.refId === opt;
    case 'byType':
      return opt === 'number';
    case 'byNames':
      return Array.isArray(opt?.names) && opt.names.includes(frame.name);
    default:
      return false;
  }
}

/** The effective config of one series: defaults with every matching override applied. */
export function fieldConfig(panel: Panel, frame: Frame | null): FieldCfg {
  const d = panel.fieldConfig?.defaults ?? {};
  const cfg: any = { ...d, custom: { ...(d.custom ?? {}) } };
  if (!frame) return cfg;
  for (const o of panel.fieldConfig?.overrides ?? []) {
    if (!o?.matcher || !matches(o, frame)) continue;
    for (const p of o.properties ?? []) if (p?.id) setPath(cfg, p.id, p.value);
  }
  return cfg;
}

const DEFAULT_THRESHOLDS: Threshold[] = [
  { value: null, color: 'green' },
  { value: 80, color: 'red' },
];

/** Color of `v` by thresholds (absolute, or percentage of min..max). */
export function thresholdColor(cfg: FieldCfg, v: number | null, min = 0, max = 100): string {
  const steps = cfg.thresholds?.steps?.length ? cfg.thresholds.steps : DEFAULT_THRESHOLDS;
  if (v === null || !isFinite(v)) return color(steps[0].color);
  const x = cfg.thresholds?.mode === 'percentage' ? ((v - min) / (max - min || 1)) * 100 : v;
  let c = steps[0].color;
  for (const s of steps) if (s.value === null || s.value === undefined || x >= s.value) c = s.color;
  return color(c);
}

export interface Display extends Formatted {
  color?: string;
}

/** Applies value mappings; returns the mapped text/color, or null when none matches. */
export function mapValue(cfg: FieldCfg, v: number | null): Display | null {
  for (const m of cfg.mappings ?? []) {
    const o = m.options ?? {};
    if (m.type === 'value') {
      const hit = o[String(v)];
      if (hit) return { text: hit.text ?? String(v), suffix: '', color: hit.color ? color(hit.color) : undefined };
    } else if (m.type === 'range') {
      const from = o.from ?? -Infinity;
      const to = o.to ?? Infinity;
      if (v !== null && v >= from && v <= to)
        return { text: o.result?.text ?? String(v), suffix: '', color: o.result?.color ? color(o.result.color) : undefined };
    } else if (m.type === 'regex') {
      try {
        if (new RegExp(o.pattern).test(String(v)))
          return { text: o.result?.text ?? String(v), suffix: '', color: o.result?.color ? color(o.result.color) : undefined };
      } catch {
        /* invalid pattern: no match */
      }
    } else if (m.type === 'special') {
      const hit =
        (o.match === 'null' && v === null) ||
        (o.match === 'nan' && v !== null && isNaN(v)) ||
        (o.match === 'null+nan' && (v === null || isNaN(v))) ||
        (o.match === 'true' && v === 1) ||
        (o.match === 'false' && v === 0);
      if (hit) return { text: o.result?.text ?? '', suffix: '', color: o.result?.color ? color(o.result.color) : undefined };
    }
  }
  return null;
}

/** Text (and color from mappings) of a value in a field's config. */
export function display(cfg: FieldCfg, v: number | null): Display {
  const mapped = mapValue(cfg, v);
  if (mapped) return mapped;
  if (v === null && cfg.noValue) return { text: cfg.noValue, suffix: '' };
  return formatValue(v, cfg.unit, cfg.decimals);
}

export function displayText(cfg: FieldCfg, v: number | null): string {
  const d = display(cfg, v);
  return (d.prefix ?? '') + d.text + d.suffix;
}

export const CALC_NAMES: Record<string, string> = {
  lastNotNull: 'Last *',
  last: 'Last',
  firstNotNull: 'First *',
  first: 'First',
  min: 'Min',
  max: 'Max',
  mean: 'Mean',
  sum: 'Total',
  count: 'Count',
  range: 'Range',
  delta: 'Delta',
  diff: 'Difference',
  median: 'Median',
};

/** Grafana's reducers over a series' values. */
export function reduce(values: (number | null)[], calc: string): number | null {
  const nn = values.filter((v): v is number => v !== null && !isNaN(v));
  switch (calc) {
    case 'last':
      return values.length ? values[values.length - 1] : null;
    case 'first':
      return values.length ? values[0] : null;
    case 'firstNotNull':
      return nn.length ? nn[0] : null;
    case 'min':
      return nn.length ? Math.min(...nn) : null;
    case 'max':
      return nn.length ? Math.max(...nn) : null;
    case 'mean':
    case 'avg':
      return nn.length ? nn.reduce((a, b) => a + b, 0) / nn.length : null;
    case 'sum':
    case 'total':
      return nn.reduce((a, b) => a + b, 0);
    case 'count':
      return values.length;
    case 'range':
      return nn.length ? Math.max(...nn) - Math.min(...nn) : null;
    case 'diff':
      return nn.length ? nn[nn.length - 1] - nn[0] : null;
    case 'delta': {
      let d = 0;
      for (let i = 1; i < nn.length; i++) d += nn[i] >= nn[i - 1] ? nn[i] - nn[i - 1] : nn[i];
      return d;
    }
    case 'median': {
      if (!nn.length) return null;
      const s = [...nn].sort((a, b) => a - b);
      const m = s.length >> 1;
      return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
    }
    case 'lastNotNull':
    case 'current':
    default:
      return nn.length ? nn[nn.length - 1] : null;
  }
}

/** A series' color: override/fixed color, else the palette by index. */
export function seriesColor(cfg: FieldCfg, index: number): string {
  if (cfg.color?.mode === 'fixed' && cfg.color.fixedColor) return color(cfg.color.fixedColor);
  if (cfg.color?.mode === 'thresholds') return thresholdColor(cfg, null);
  return PALETTE[index % PALETTE.length];
}
