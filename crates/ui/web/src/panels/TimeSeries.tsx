// Time-series panel (`timeseries`, and old `graph`): uPlot lines/bars/points, legend with
// calcs, shared crosshair, drag to zoom, thresholds, and exemplars linking to traces.

import { useMemo, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { UPlot } from '../components/UPlot';
import type { Panel } from '../dashboard/model';
import { align, ExemplarPoint, Frame } from '../dashboard/query';
import { formatDateTime } from '../lib/time';
import { formatText } from '../lib/units';
import { navigate } from '../router';
import { axisSize, ChartContext, createTooltip, escapeHtml, placeTooltip, timeTicks, zoomOnSelect } from './chartKit';
import { CALC_NAMES, color, displayText, FieldCfg, fieldConfig, reduce, seriesColor } from './fieldConfig';
import { Legend, LegendItem } from './Legend';

interface Props {
  panel: Panel;
  frames: Frame[];
  exemplars: ExemplarPoint[];
  ctx: ChartContext;
}

/** `order[k]` is the frame drawn as uPlot series k + 1 (stacked series are drawn top first). */
function tooltipPlugin(cfgs: FieldCfg[], names: string[], order: number[], exemplars: ExemplarPoint[], ctx: ChartContext, mode: string): uPlot.Plugin {
  let tip: HTMLDivElement;
  let hovered = false;
  return {
    hooks: {
      init: (u) => {
        tip = createTooltip(u);
        u.over.addEventListener('mouseenter', () => (hovered = true));
        u.over.addEventListener('mouseleave', () => {
          hovered = false;
          tip.style.display = 'none';
        });
      },
      setCursor: (u) => {
        const { idx, left, top } = u.cursor;
        if (mode === 'none' || idx == null || left == null || left < 0 || (!hovered && !ctx.sharedTooltip)) {
          tip.style.display = 'none';
          return;
        }
        const ex = hovered ? nearestExemplar(u, exemplars, left, top ?? 0) : null;
        let html = '';
        if (ex) {
          html = `<div class="tt-time">Exemplar · ${formatDateTime(ex.time)}</div>`;
          html += `<div>value: <b>${escapeHtml(formatText(ex.value, cfgs[0]?.unit, cfgs[0]?.decimals))}</b></div>`;
          for (const [k, v] of Object.entries(ex.labels)) html += `<div>${escapeHtml(k)}: ${escapeHtml(v)}</div>`;
          if (ex.traceId) html += `<div class="tt-link">Click to open trace ${escapeHtml(ex.traceId.slice(0, 16))}</div>`;
        } else {
          const t = u.data[0][idx];
          html = `<div class="tt-time">${formatDateTime(t)}</div>`;
          const rows: [number, string][] = [];
          for (let i = 1; i < u.series.length; i++) {
            const s = u.series[i];
            if (!s.show) continue;
            const v = u.data[i][idx] as number | null | undefined;
            if (mode === 'single' && u.cursor.idxs && i !== closestSeries(u, idx, top ?? 0)) continue;
            const sw = `<span class="swatch" style="background:${(s.stroke as () => string)()}"></span>`;
            const f = order[i - 1];
            rows.push([v ?? -Infinity, `<div>${sw}${escapeHtml(names[f])}: <b>${escapeHtml(v == null ? '–' : displayText(cfgs[f], v))}</b></div>`]);
          }
          rows.sort((a, b) => b[0] - a[0]);
          html += rows.slice(0, 30).map((r) => r[1]).join('');
          if (rows.length > 30) html += `<div>… ${rows.length - 30} more</div>`;
        }
        placeTooltip(tip, u, left, top ?? 0, html);
      },
    },
  };
}

function closestSeries(u: uPlot, idx: number, top: number): number {
  let best = -1;
  let dist = Infinity;
  for (let i = 1; i < u.series.length; i++) {
    const v = u.data[i][idx];
    if (v == null || !u.series[i].show) continue;
    const y = u.valToPos(v as number, u.series[i].scale ?? 'y');
    if (Math.abs(y - top) < dist) {
      dist = Math.abs(y - top);
      best = i;
    }
  }
  return best;
}

function nearestExemplar(u: uPlot, exemplars: ExemplarPoint[], x: number, y: number): ExemplarPoint | null {
  let best: ExemplarPoint | null = null;
  let dist = 8;
  for (const e of exemplars) {
    const ex = u.valToPos(e.time, 'x');
    const ey = u.valToPos(e.value, 'y');
    const d = Math.hypot(ex - x, ey - y);
    if (d < dist) {
      dist = d;
      best = e;
    }
  }
  return best;
}

/** Exemplars as links over the chart: a diamond per exemplar, opening its trace. */
function exemplarPlugin(exemplars: ExemplarPoint[]): uPlot.Plugin {
  let layer: HTMLDivElement;
  return {
    hooks: {
      init: (u) => {
        layer = document.createElement('div');
        layer.className = 'exemplar-layer';
        u.over.appendChild(layer);
      },
      draw: (u) => {
        layer.replaceChildren();
        for (const e of exemplars.slice(0, 2000)) {
          if (e.time < u.scales.x.min! || e.time > u.scales.x.max!) continue;
          const x = u.valToPos(e.time, 'x');
          const y = u.valToPos(e.value, 'y');
          if (!isFinite(y) || y < 0 || y > u.over.clientHeight) continue;
          const m = document.createElement(e.traceId ? 'a' : 'span');
          m.className = 'exemplar' + (e.traceId ? ' with-trace' : '');
          m.style.left = x + 'px';
          m.style.top = y + 'px';
          m.title = Object.entries(e.labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ');
          if (e.traceId) {
            const href = '/trace/' + encodeURIComponent(e.traceId);
            m.setAttribute('href', href);
            m.dataset.traceId = e.traceId;
            m.addEventListener('click', (ev) => {
              ev.preventDefault();
              ev.stopPropagation();
              navigate(href);
            });
          }
          layer.appendChild(m);
        }
      },
    },
  };
}

function thresholdsPlugin(cfg: FieldCfg): uPlot.Plugin {
  const mode = cfg.custom?.thresholdsStyle?.mode;
  return {
    hooks: {
      drawClear: (u) => {
        if (!mode || mode === 'off' || !cfg.thresholds?.steps) return;
        const ctx = u.ctx;
        const { left, top, width, height } = u.bbox;
        ctx.save();
        const steps = cfg.thresholds.steps;
        for (let i = 0; i < steps.length; i++) {
          const s = steps[i];
          const lo = s.value ?? u.scales.y.min!;
          const hi = steps[i + 1]?.value ?? u.scales.y.max!;
          const y1 = u.valToPos(lo, 'y', true);
          const y2 = u.valToPos(hi, 'y', true);
          if (mode.includes('area')) {
            ctx.fillStyle = color(s.color) + '26';
            ctx.fillRect(left, Math.min(y1, y2), width, Math.abs(y1 - y2));
          }
          if (mode.includes('line') && s.value != null && y1 >= top && y1 <= top + height) {
            ctx.strokeStyle = color(s.color);
            ctx.setLineDash(mode.includes('dashed') ? [10, 10] : []);
            ctx.lineWidth = devicePixelRatio;
            ctx.beginPath();
            ctx.moveTo(left, y1);
            ctx.lineTo(left + width, y1);
            ctx.stroke();
          }
        }
        ctx.restore();
      },
    },
  };
}

/** Cumulative sums per stacking group, so stacked series draw on top of each other. */
function stack(data: (number | null)[][], cfgs: FieldCfg[]): (number | null)[][] {
  const acc = new Map<string, number[]>();
  return data.map((col, i) => {
    const st = cfgs[i].custom?.stacking;
    if (!st || !st.mode || st.mode === 'none') return col;
    const g = String(st.group ?? 'A');
    const base = acc.get(g) ?? new Array(col.length).fill(0);
    const out = col.map((v, j) => (v == null ? null : (base[j] += v)));
    acc.set(g, base);
    return out;
  });
}

export function TimeSeries({ panel, frames, exemplars, ctx }: Props) {
  const cfgs = useMemo(() => frames.map((f) => fieldConfig(panel, f)), [panel, frames]);
  const names = frames.map((f, i) => cfgs[i].displayName && frames.length === 1 ? cfgs[i].displayName! : f.name);
  const visible = frames.map((_, i) => !(cfgs[i].custom?.hideFrom?.viz));
  // Stacked series hold running totals; drawing them top first keeps each one's own band
  // (bars and fills start at zero) visible.
  const stacked = cfgs.some((c) => c.custom?.stacking?.mode && c.custom.stacking.mode !== 'none');
  const order = frames.map((_, i) => i);
  if (stacked) order.reverse();
  const aligned = useMemo(() => {
    const [times, ...cols] = align(frames);
    const transformed = cols.map((c, i) => (cfgs[i].custom?.transform === 'negative-Y' ? c.map((v) => (v == null ? v : -v)) : c));
    const totals = stack(transformed, cfgs);
    return [times, ...order.map((i) => totals[i])] as uPlot.AlignedData;
  }, [frames, cfgs]);
  const base = fieldConfig(panel, null);
  const tooltipMode = panel.options?.tooltip?.mode ?? 'multi';
  const legendOpts = panel.options?.legend ?? {};
  const showLegend = legendOpts.showLegend !== false && legendOpts.displayMode !== 'hidden';
  const calcs: string[] = legendOpts.calcs ?? [];

  const optsKey = JSON.stringify([panel.id, names, ctx.syncKey, ctx.range, frames.length, exemplars.length, cfgs]);
  const makeOpts = (width: number, height: number): uPlot.Options => ({
    width,
    height,
    legend: { show: false },
    padding: [8, 8, 0, 0],
    cursor: {
      sync: ctx.syncKey ? { key: ctx.syncKey, setSeries: false } : undefined,
      drag: { x: true, y: false, setScale: false },
      points: { size: 6 },
      focus: { prox: 16 },
    },
    select: { show: true, left: 0, top: 0, width: 0, height: 0 },
    scales: {
      x: { time: false, range: () => [ctx.range.from, ctx.range.to] },
      y: {
        range: (_u, dmin, dmax) => {
          const lo = base.min ?? (dmin === null ? 0 : Math.min(0, dmin) === 0 && dmin >= 0 ? 0 : dmin);
          let hi = base.max ?? (dmax === null ? 1 : dmax);
          if (hi === lo) hi = lo + 1;
          const pad = base.max == null ? (hi - lo) * 0.05 : 0;
          return [lo, hi + pad];
        },
      },
    },
    axes: [
      {
        stroke: '#8e8e8e',
        grid: { stroke: '#ffffff14', width: 1 },
        ticks: { stroke: '#ffffff14' },
        values: (_u, splits) => timeTicks(splits, ctx.range.to - ctx.range.from),
        space: 70,
      },
      {
        stroke: '#8e8e8e',
        grid: { stroke: '#ffffff14', width: 1 },
        ticks: { show: false },
        size: axisSize,
        values: (_u, splits) => splits.map((v) => formatText(v, base.unit, base.decimals ?? undefined)),
      },
    ],
    series: [
      {},
      ...order.map((i) => {
        const c = cfgs[i].custom ?? {};
        const col = seriesColor(cfgs[i], i);
        const draw = c.drawStyle ?? (panel.originalType === 'graph' && panel.bars ? 'bars' : 'line');
        const fill = c.fillOpacity ?? (panel.originalType === 'graph' ? (panel.fill ?? 1) * 10 : 0);
        return {
          label: names[i],
          stroke: col,
          width: (c.lineWidth ?? 1) * (draw === 'points' ? 0 : 1),
          fill: fill > 0 ? col + Math.round((fill / 100) * 255).toString(16).padStart(2, '0') : undefined,
          show: visible[i],
          spanGaps: c.spanNulls === true,
          paths: draw === 'bars' ? uPlot.paths.bars!({ size: [0.8, 40] }) : draw === 'points' ? () => null : undefined,
          points: { show: draw === 'points' || c.showPoints === 'always', size: c.pointSize ?? 4 },
          dash: c.lineStyle?.fill === 'dash' ? [10, 10] : undefined,
        } as uPlot.Series;
      }),
    ],
    hooks: {
      setSelect: [zoomOnSelect(ctx.onZoom)],
    },
    plugins: [thresholdsPlugin(base), exemplarPlugin(exemplars), tooltipPlugin(cfgs, names, order, exemplars, ctx, tooltipMode)],
  });

  const plot = useRef<uPlot | null>(null);
  const isolated = useRef<number | null>(null);
  // Grafana's legend click: show only that series; click it again to show all.
  const toggle = (index: number) => {
    const u = plot.current;
    if (!u) return;
    isolated.current = isolated.current === index ? null : index;
    u.batch(() => {
      for (let i = 0; i < frames.length; i++)
        u.setSeries(order.indexOf(i) + 1, { show: visible[i] && (isolated.current === null || isolated.current === i) });
    });
  };
  const items: LegendItem[] = frames.map((f, i) => ({
    index: i,
    name: names[i],
    color: seriesColor(cfgs[i], i),
    hidden: !visible[i] || !!cfgs[i].custom?.hideFrom?.legend,
    calcs: calcs.map((c) => ({ name: CALC_NAMES[c] ?? c, text: displayText(cfgs[i], reduce(f.values, c)) })),
  }));

  return (
    <div class={'ts-panel legend-' + (legendOpts.placement === 'right' ? 'right' : 'bottom')}>
      <UPlot class="ts-chart" makeOpts={makeOpts} optsKey={optsKey} data={aligned} onCreate={(u) => (plot.current = u)} />
      {showLegend && items.length > 0 && (
        <Legend items={items} table={legendOpts.displayMode === 'table'} calcNames={calcs.map((c) => CALC_NAMES[c] ?? c)} onToggle={toggle} />
      )}
    </div>
  );
}

