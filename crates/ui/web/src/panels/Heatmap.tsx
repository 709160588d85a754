// Heatmap panel: bucket counts over time (see `heatGrid`), drawn as colored cells on uPlot's
// axes, with a tooltip per cell and drag to zoom.

import { useMemo } from 'preact/hooks';
import uPlot from 'uplot';
import { UPlot } from '../components/UPlot';
import type { Panel } from '../dashboard/model';
import type { Frame } from '../dashboard/query';
import { formatDateTime } from '../lib/time';
import { formatText } from '../lib/units';
import { fieldConfig } from './fieldConfig';
import { heatGrid, HeatGrid } from './heatGrid';
import { ChartContext, createTooltip, escapeHtml, placeTooltip, timeTicks, zoomOnSelect } from './chartKit';

/** Yellow → orange → red, like Grafana's "Oranges" scheme; square-root scale for contrast. */
function heatColor(frac: number): string {
  const f = Math.sqrt(Math.max(0, Math.min(1, frac)));
  const r = Math.round(255 - 40 * f);
  const g = Math.round(235 - 190 * f);
  const b = Math.round(140 - 120 * f);
  return `rgba(${r},${g},${b},${0.25 + 0.75 * f})`;
}

export function Heatmap({ panel, frames, ctx }: { panel: Panel; frames: Frame[]; ctx: ChartContext }) {
  const grid = useMemo(() => heatGrid(frames), [frames]);
  const cfg = fieldConfig(panel, null);
  const unit = panel.options?.yAxis?.unit ?? cfg.unit;
  const isLe = frames.some((f) => f.labels.le !== undefined);
  const data = useMemo(() => [grid.times, grid.times.map(() => null)] as uPlot.AlignedData, [grid]);
  const label = (i: number) => {
    const b = grid.buckets[i];
    if (!isLe || b === undefined) return b ?? '';
    return b === '+Inf' ? '+Inf' : formatText(parseFloat(b), unit);
  };
  const makeOpts = (width: number, height: number): uPlot.Options => ({
    width,
    height,
    legend: { show: false },
    padding: [8, 8, 0, 0],
    cursor: { sync: ctx.syncKey ? { key: ctx.syncKey } : undefined, drag: { x: true, y: false, setScale: false }, points: { show: false } },
    scales: { x: { time: false, range: () => [ctx.range.from, ctx.range.to] }, y: { range: () => [0, Math.max(1, grid.buckets.length)] } },
    axes: [
      { stroke: '#8e8e8e', grid: { show: false }, values: (_u, s) => timeTicks(s, ctx.range.to - ctx.range.from), space: 70 },
      {
        stroke: '#8e8e8e',
        grid: { show: false },
        size: 70,
        splits: () => grid.buckets.map((_, i) => i + 1).filter((_, i, a) => a.length <= 12 || i % Math.ceil(a.length / 12) === 0),
        values: (_u, s) => s.map((v) => label(v - 1)),
      },
    ],
    series: [{}, { show: false }],
    hooks: {
      draw: [
        (u) => {
          const c = u.ctx;
          const { times, counts, max } = grid;
          if (!times.length) return;
          const step = times.length > 1 ? times[1] - times[0] : 60_000;
          c.save();
          c.beginPath();
          c.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
          c.clip();
          for (let b = 0; b < counts.length; b++) {
            const y0 = u.valToPos(b, 'y', true);
            const y1 = u.valToPos(b + 1, 'y', true);
            for (let t = 0; t < times.length; t++) {
              const v = counts[b][t];
              if (v === null || v <= 0) continue;
              const x0 = u.valToPos(times[t] - step, 'x', true);
              const x1 = u.valToPos(times[t], 'x', true);
              c.fillStyle = heatColor(max ? v / max : 0);
              c.fillRect(x0, y1, Math.max(1, x1 - x0 - 1), Math.max(1, y0 - y1 - 1));
            }
          }
          c.restore();
        },
      ],
      setSelect: [zoomOnSelect(ctx.onZoom)],
    },
    plugins: [heatTooltip(grid, label)],
  });
  return (
    <div class="ts-panel">
      <UPlot class="ts-chart" makeOpts={makeOpts} optsKey={JSON.stringify([panel.id, grid.buckets, grid.max, grid.times.length, ctx.range, ctx.syncKey])} data={data} />
      <div class="heat-scale">
        <span>0</span>
        <span class="heat-gradient" />
        <span>{formatText(grid.max, 'short')}</span>
      </div>
    </div>
  );
}

function heatTooltip(grid: HeatGrid, label: (i: number) => string): uPlot.Plugin {
  let tip: HTMLDivElement;
  return {
    hooks: {
      init: (u) => {
        tip = createTooltip(u);
        u.over.addEventListener('mouseleave', () => (tip.style.display = 'none'));
      },
      setCursor: (u) => {
        const { left, top } = u.cursor;
        if (left == null || top == null || left < 0 || !grid.times.length) {
          tip.style.display = 'none';
          return;
        }
        const x = u.posToVal(left, 'x');
        const step = grid.times.length > 1 ? grid.times[1] - grid.times[0] : 60_000;
        const t = grid.times.findIndex((tt) => tt >= x && tt - step <= x);
        const b = Math.floor(u.posToVal(top, 'y'));
        if (t < 0 || b < 0 || b >= grid.buckets.length) {
          tip.style.display = 'none';
          return;
        }
        const lo = b > 0 ? label(b - 1) : '0';
        placeTooltip(
          tip,
          u,
          left,
          top,
          `<div class="tt-time">${formatDateTime(grid.times[t])}</div>` +
            `<div>Bucket: ${escapeHtml(lo)} – ${escapeHtml(label(b))}</div>` +
            `<div>Count: <b>${formatText(grid.counts[b][t], 'short')}</b></div>`,
        );
      },
    },
  };
}
