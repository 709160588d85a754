import { describe, expect, it } from 'vitest';
import { normalise } from '../src/dashboard/model';
import type { Frame } from '../src/dashboard/query';
import { align, legendName } from '../src/dashboard/query';
import { display, fieldConfig, reduce, thresholdColor } from '../src/panels/fieldConfig';
import { heatGrid } from '../src/panels/heatGrid';
import { buildTable, transform } from '../src/panels/tableModel';
import { formatText } from '../src/lib/units';

const frame = (refId: string, labels: Record<string, string>, values: (number | null)[], times?: number[]): Frame => ({
  refId,
  name: legendName(undefined, labels, { vars: new Map(), builtins: {} }),
  labels,
  times: times ?? values.map((_, i) => i * 1000),
  values,
  instant: false,
  format: 'time_series',
});

describe('units', () => {
  it('formats common units', () => {
    expect(formatText(1536, 'bytes')).toBe('1.5 KiB');
    expect(formatText(0.25, 'percentunit')).toBe('25%');
    expect(formatText(0.0042, 's')).toBe('4.2 ms');
    expect(formatText(12345, 'reqps')).toBe('12.3 K req/s');
    expect(formatText(3.14159, 'none', 2)).toBe('3.14');
    expect(formatText(null, 's')).toBe('No data');
  });
});

describe('field config', () => {
  const panel: any = {
    fieldConfig: {
      defaults: { unit: 's', thresholds: { steps: [{ value: null, color: 'green' }, { value: 1, color: 'red' }] }, mappings: [{ type: 'value', options: { '0': { text: 'idle' } } }] },
      overrides: [
        { matcher: { id: 'byName', options: 'p99' }, properties: [{ id: 'unit', value: 'ms' }, { id: 'custom.lineWidth', value: 3 }] },
        { matcher: { id: 'byRegexp', options: '^err' }, properties: [{ id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }] },
      ],
    },
  };
  it('applies overrides by name and regexp', () => {
    const p99 = fieldConfig(panel, { ...frame('A', {}, []), name: 'p99' });
    expect(p99.unit).toBe('ms');
    expect(p99.custom.lineWidth).toBe(3);
    expect(fieldConfig(panel, { ...frame('A', {}, []), name: 'errors' }).color?.fixedColor).toBe('red');
    expect(fieldConfig(panel, { ...frame('A', {}, []), name: 'p50' }).unit).toBe('s');
  });
  it('thresholds and mappings', () => {
    const cfg = fieldConfig(panel, null);
    expect(thresholdColor(cfg, 0.5)).toBe('#73BF69');
    expect(thresholdColor(cfg, 2)).toBe('#F2495C');
    expect(display(cfg, 0).text).toBe('idle');
  });
  it('reducers', () => {
    expect(reduce([1, null, 3], 'lastNotNull')).toBe(3);
    expect(reduce([1, 2, 3, 4], 'mean')).toBe(2.5);
    expect(reduce([5, 1, 9], 'max')).toBe(9);
    expect(reduce([], 'max')).toBeNull();
  });
});

describe('frames', () => {
  it('legend templates and default names', () => {
    const s = { vars: new Map(), builtins: {} };
    expect(legendName('{{job}} {{ code }}', { job: 'api', code: '500' }, s)).toBe('api 500');
    expect(legendName('', { __name__: 'up', job: 'x' }, s)).toBe('up{job="x"}');
  });
  it('aligns series on one time axis', () => {
    const [t, a, b] = align([frame('A', {}, [1, 2], [0, 1000]), frame('B', {}, [3], [2000])]);
    expect(t).toEqual([0, 1000, 2000]);
    expect(a).toEqual([1, 2, null]);
    expect(b).toEqual([null, null, 3]);
  });
  it('heatmap de-accumulates buckets sorted by bound, +Inf last', () => {
    const g = heatGrid([
      frame('A', { le: '+Inf' }, [10]),
      frame('A', { le: '0.5' }, [7]),
      frame('A', { le: '0.1' }, [3]),
    ]);
    expect(g.buckets).toEqual(['0.1', '0.5', '+Inf']);
    expect(g.counts.map((c) => c[0])).toEqual([3, 4, 3]);
  });
  it('tables merge queries on the labels they share', () => {
    const t = buildTable([
      frame('A', { instance: 'a' }, [0.5]),
      frame('A', { instance: 'b' }, [0.7]),
      frame('B', { instance: 'a', job: 'node' }, [0.2]),
      frame('B', { instance: 'b', job: 'node' }, [0.3]),
    ]);
    expect(t.columns).toEqual(['Time', 'instance', 'job', 'Value #A', 'Value #B']);
    expect(t.rows.map((r) => r.slice(1))).toEqual([
      ['a', 'node', 0.5, 0.2],
      ['b', 'node', 0.7, 0.3],
    ]);
    const o = transform(t, { transformations: [{ id: 'organize', options: { excludeByName: { Time: true }, renameByName: { instance: 'Host' } } }, { id: 'calculateField' }] } as any);
    expect(o.table.columns).toEqual(['Host', 'job', 'Value #A', 'Value #B']);
    expect(o.unsupported).toEqual(['calculateField']);
  });
});

describe('dashboard model', () => {
  it('maps old graph options to field config', () => {
    const d = normalise({
      panels: [
        {
          id: 1, type: 'graph', gridPos: { x: 0, y: 0, w: 12, h: 8 }, bars: true, lines: false, fill: 3, stack: true,
          aliasColors: { errors: 'red' }, seriesOverrides: [{ alias: '/^out/', transform: 'negative-Y' }],
        },
      ],
    });
    const p = d.sections[0].panels[0];
    expect(p.fieldConfig?.defaults?.custom).toMatchObject({ drawStyle: 'bars', fillOpacity: 30, stacking: { mode: 'normal' } });
    const out = fieldConfig(p, { ...frame('A', {}, []), name: 'out eth0' });
    expect(out.custom.transform).toBe('negative-Y');
    expect(fieldConfig(p, { ...frame('A', {}, []), name: 'errors' }).color?.fixedColor).toBe('red');
  });

  it('rows own the panels below them; collapsed rows keep theirs', () => {
    const d = normalise({
      panels: [
        { id: 1, type: 'stat', gridPos: { x: 0, y: 0, w: 6, h: 4 } },
        { id: 2, type: 'row', title: 'R', gridPos: { x: 0, y: 4, w: 24, h: 1 }, collapsed: false, panels: [] },
        { id: 3, type: 'graph', gridPos: { x: 0, y: 5, w: 12, h: 8 }, yaxes: [{ format: 'bytes' }] },
        { id: 4, type: 'row', title: 'C', collapsed: true, gridPos: { x: 0, y: 13, w: 24, h: 1 }, panels: [{ id: 5, type: 'singlestat', gridPos: { x: 0, y: 14, w: 6, h: 3 } }] },
      ],
    });
    expect(d.sections.map((s) => [s.row?.title ?? null, s.panels.map((p) => p.id)])).toEqual([
      [null, [1]],
      ['R', [3]],
      ['C', [5]],
    ]);
    expect(d.sections[1].panels[0].type).toBe('timeseries');
    expect(d.sections[1].panels[0].fieldConfig?.defaults?.unit).toBe('bytes');
    expect(d.sections[2].panels[0].type).toBe('stat');
  });
});

describe('panel time overrides', () => {
  it('timeFrom and timeShift', async () => {
    const { panelRange } = await import('../src/dashboard/panelTime');
    const { resolveRange } = await import('../src/lib/time');
    const r = resolveRange('now-6h', 'now')!;
    const s = { vars: new Map(), builtins: {} };
    const a = panelRange({ timeFrom: '24h' } as any, r, s);
    expect(r.to - a.range.from).toBe(86_400_000);
    expect(a.note).toBe('Last 24h');
    const b = panelRange({ timeShift: '1d' } as any, r, s);
    expect(b.range.to).toBe(r.to - 86_400_000);
    expect(b.range.to - b.range.from).toBe(r.to - r.from);
    expect(panelRange({} as any, r, s)).toEqual({ range: r, note: null });
  });
});
