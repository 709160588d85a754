// Grafana's dashboard JSON model, as far as Pharos reads it, and its normalisation:
// legacy `rows` schema and old panel types are mapped to today's, rows (collapsed or not)
// become sections of panels.

export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Target {
  refId?: string;
  expr?: string;
  legendFormat?: string;
  instant?: boolean;
  range?: boolean;
  format?: 'time_series' | 'table' | 'heatmap' | string;
  interval?: string;
  intervalFactor?: number;
  hide?: boolean;
  exemplar?: boolean;
  datasource?: unknown;
}

export interface Threshold {
  value: number | null;
  color: string;
}

export interface ValueMapping {
  type: 'value' | 'range' | 'regex' | 'special' | string;
  options: any;
}

export interface FieldConfigDefaults {
  unit?: string;
  decimals?: number | null;
  min?: number | null;
  max?: number | null;
  displayName?: string;
  thresholds?: { mode?: 'absolute' | 'percentage'; steps: Threshold[] };
  mappings?: ValueMapping[];
  color?: { mode?: string; fixedColor?: string };
  noValue?: string;
  custom?: Record<string, any>;
  links?: { title?: string; url: string }[];
}

export interface Override {
  matcher: { id: string; options?: any };
  properties: { id: string; value?: any }[];
}

export interface Panel {
  id: number;
  type: string;
  title?: string;
  description?: string;
  gridPos: GridPos;
  targets?: Target[];
  datasource?: unknown;
  interval?: string;
  maxDataPoints?: number;
  fieldConfig?: { defaults?: FieldConfigDefaults; overrides?: Override[] };
  options?: Record<string, any>;
  transformations?: { id: string; options?: any; disabled?: boolean }[];
  repeat?: string;
  repeatDirection?: 'h' | 'v';
  maxPerRow?: number;
  collapsed?: boolean;
  panels?: Panel[];
  // Legacy (graph/singlestat) options some dashboards still carry.
  legend?: Record<string, any>;
  yaxes?: { format?: string; min?: number | string | null; max?: number | string | null; decimals?: number | null }[];
  format?: string;
  thresholds?: string;
  colors?: string[];
  content?: string;
  mode?: string;
  valueName?: string;
  [k: string]: any;
}

export interface Section {
  /** The row panel heading the section (none for panels above the first row). */
  row: Panel | null;
  panels: Panel[];
}

export interface Dashboard {
  uid: string;
  title: string;
  tags: string[];
  time: { from: string; to: string };
  refresh: string;
  graphTooltip: number;
  templating: any[];
  links: any[];
  sections: Section[];
  timepickerIntervals?: string[];
}

/** Panel types Pharos draws (after mapping old names). */
export const DRAWN_TYPES = ['timeseries', 'stat', 'gauge', 'bargauge', 'table', 'heatmap', 'text'];

const TYPE_ALIASES: Record<string, string> = {
  graph: 'timeseries',
  singlestat: 'stat',
  'table-old': 'table',
};

function normalisePanel(p: any, idSeed: { n: number }): Panel {
  const panel: Panel = { ...p };
  panel.id = typeof p.id === 'number' ? p.id : 10_000 + idSeed.n++;
  panel.type = TYPE_ALIASES[p.type] ?? String(p.type ?? 'unknown');
  panel.originalType = p.type;
  const g = p.gridPos ?? {};
  panel.gridPos = {
    x: num(g.x, 0),
    y: num(g.y, 0),
    w: Math.max(1, Math.min(24, num(g.w, 12))),
    h: Math.max(1, num(g.h, 8)),
  };
  if (p.type === 'graph' || p.type === 'singlestat') legacyFieldConfig(panel);
  if (Array.isArray(p.panels)) panel.panels = p.panels.map((c: any) => normalisePanel(c, idSeed));
  return panel;
}

function num(v: unknown, d: number): number {
  return typeof v === 'number' && isFinite(v) ? v : d;
}

/** Old `graph` and `singlestat` panels keep units and legend settings elsewhere. */
function legacyFieldConfig(p: Panel) {
  const defaults: FieldConfigDefaults = { ...(p.fieldConfig?.defaults ?? {}) };
  const y = p.yaxes?.[0];
  if (y) {
    if (!defaults.unit && y.format) defaults.unit = y.format;
    if (defaults.min == null && y.min != null && y.min !== '') defaults.min = Number(y.min);
    if (defaults.max == null && y.max != null && y.max !== '') defaults.max = Number(y.max);
    if (defaults.decimals == null && y.decimals != null) defaults.decimals = y.decimals;
  }
  if (p.type === 'stat' && p.format && !defaults.unit) defaults.unit = p.format;
  if (p.thresholds && p.colors && !defaults.thresholds) {
    const values = String(p.thresholds)
      .split(',')
      .map((s) => parseFloat(s))
      .filter((n) => !isNaN(n));
    defaults.thresholds = {
      mode: 'absolute',
      steps: [{ value: null, color: p.colors[0] }, ...values.map((v, i) => ({ value: v, color: p.colors![i + 1] ?? 'red' }))],
    };
  }
  const overrides: Override[] = [...(p.fieldConfig?.overrides ?? [])];
  if (p.type === 'timeseries') {
    // Old graph panels: draw style, fill, line width, stacking, per-series colors and overrides.
    const custom: Record<string, any> = { ...(defaults.custom ?? {}) };
    if (p.bars && !p.lines) custom.drawStyle = 'bars';
    else if (p.points && !p.lines) custom.drawStyle = 'points';
    if (typeof p.fill === 'number') custom.fillOpacity = p.fill * 10;
    if (typeof p.linewidth === 'number') custom.lineWidth = p.linewidth;
    if (p.stack) custom.stacking = { mode: p.percentage ? 'percent' : 'normal', group: 'A' };
    defaults.custom = custom;
    for (const [name, c] of Object.entries(p.aliasColors ?? {}))
      overrides.push({ matcher: { id: 'byName', options: name }, properties: [{ id: 'color', value: { mode: 'fixed', fixedColor: String(c) } }] });
    for (const so of p.seriesOverrides ?? []) {
      if (!so?.alias) continue;
      const re = /^\/(.*)\/$/.exec(so.alias);
      const props: { id: string; value: any }[] = [];
      if (so.transform === 'negative-Y') props.push({ id: 'custom.transform', value: 'negative-Y' });
      if (so.color) props.push({ id: 'color', value: { mode: 'fixed', fixedColor: so.color } });
      if (typeof so.fill === 'number') props.push({ id: 'custom.fillOpacity', value: so.fill * 10 });
      if (typeof so.linewidth === 'number') props.push({ id: 'custom.lineWidth', value: so.linewidth });
      if (so.bars === true) props.push({ id: 'custom.drawStyle', value: 'bars' });
      if (so.dashes === true) props.push({ id: 'custom.lineStyle', value: { fill: 'dash' } });
      if (so.legend === false) props.push({ id: 'custom.hideFrom', value: { legend: true, viz: false } });
      if (so.stack === false) props.push({ id: 'custom.stacking', value: { mode: 'none' } });
      if (props.length)
        overrides.push({ matcher: re ? { id: 'byRegexp', options: re[1] } : { id: 'byName', options: so.alias }, properties: props });
    }
  }
  p.fieldConfig = { defaults, overrides };
  if (p.legend && !p.options?.legend) {
    const calcs: string[] = [];
    if (p.legend.min) calcs.push('min');
    if (p.legend.avg) calcs.push('mean');
    if (p.legend.max) calcs.push('max');
    if (p.legend.current) calcs.push('lastNotNull');
    if (p.legend.total) calcs.push('sum');
    p.options = {
      ...(p.options ?? {}),
      legend: { showLegend: p.legend.show !== false, displayMode: p.legend.alignAsTable ? 'table' : 'list', calcs },
    };
  }
  if (p.valueName && !p.options?.reduceOptions) {
    const map: Record<string, string> = { current: 'lastNotNull', avg: 'mean', min: 'min', max: 'max', total: 'sum' };
    p.options = { ...(p.options ?? {}), reduceOptions: { calcs: [map[p.valueName] ?? 'lastNotNull'] } };
  }
}

/** Turns the dashboard JSON into sections of panels, sorted by position. */
export function normalise(raw: any): Dashboard {
  const seed = { n: 0 };
  let flat: Panel[] = [];
  if (Array.isArray(raw.panels)) {
    flat = raw.panels.map((p: any) => normalisePanel(p, seed));
  } else if (Array.isArray(raw.rows)) {
    // Schema before Grafana 5: rows with spans of 12 columns and pixel heights.
    let y = 0;
    for (const r of raw.rows) {
      const h = Math.max(2, Math.ceil((parseInt(r.height ?? '250', 10) || 250) / 38));
      if (r.showTitle || raw.rows.length > 1) {
        flat.push(normalisePanel({ type: 'row', title: r.title ?? '', collapsed: !!r.collapse, gridPos: { x: 0, y, w: 24, h: 1 }, panels: [] }, seed));
        y++;
      }
      let x = 0;
      const children: Panel[] = [];
      for (const p of r.panels ?? []) {
        const w = Math.round((p.span ?? 12) * 2);
        if (x + w > 24) {
          x = 0;
          y += h;
        }
        children.push(normalisePanel({ ...p, gridPos: { x, y, w, h } }, seed));
        x += w;
      }
      y += h;
      const row = flat[flat.length - 1];
      if (row?.type === 'row' && row.collapsed) row.panels = children;
      else flat.push(...children);
    }
  }
  flat.sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x);
  const sections: Section[] = [{ row: null, panels: [] }];
  for (const p of flat) {
    if (p.type === 'row') sections.push({ row: p, panels: p.collapsed ? [...(p.panels ?? [])] : [] });
    else sections[sections.length - 1].panels.push(p);
  }
  if (sections[0].panels.length === 0 && sections.length > 1) sections.shift();
  return {
    uid: String(raw.uid ?? ''),
    title: String(raw.title ?? 'Untitled'),
    tags: Array.isArray(raw.tags) ? raw.tags : [],
    time: { from: raw.time?.from ?? 'now-6h', to: raw.time?.to ?? 'now' },
    refresh: typeof raw.refresh === 'string' ? raw.refresh : '',
    graphTooltip: num(raw.graphTooltip, 0),
    templating: Array.isArray(raw.templating?.list) ? raw.templating.list : [],
    links: Array.isArray(raw.links) ? raw.links : [],
    sections,
    timepickerIntervals: raw.timepicker?.refresh_intervals,
  };
}

/** Data source of a panel or target: true when it is (or defaults to) Prometheus. */
export function isPrometheus(ds: unknown): boolean {
  if (ds == null || ds === '' || ds === 'default' || ds === '-- Mixed --') return true;
  if (typeof ds === 'string') return !/loki|elastic|influx|tempo|jaeger|zipkin|graphite|mysql|postgres|testdata/i.test(ds);
  const o = ds as { type?: string; uid?: string };
  if (o.type) return o.type === 'prometheus' || o.type === 'datasource' || o.type === 'grafana-prometheus-datasource';
  return o.uid ? isPrometheus(o.uid) : true;
}

/** Name of a data source for messages. */
export function dsName(ds: unknown): string {
  if (typeof ds === 'string') return ds;
  const o = ds as { type?: string; uid?: string } | null;
  return o?.type ?? o?.uid ?? 'unknown';
}
