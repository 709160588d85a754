// Pieces shared by the uPlot-based panels: the chart context, drag-to-zoom, tooltips and
// time-axis labels.

import type uPlot from 'uplot';

export interface ChartContext {
  /** uPlot sync key for a shared crosshair, or null. */
  syncKey: string | null;
  /** Shared tooltip (graphTooltip 2): every synced chart shows its tooltip. */
  sharedTooltip: boolean;
  onZoom: (from: number, to: number) => void;
  range: { from: number; to: number };
}

/** A `setSelect` hook: a horizontal drag selects a time range to zoom into. */
export function zoomOnSelect(onZoom: (from: number, to: number) => void) {
  return (u: uPlot) => {
    if (u.select.width < 5) return;
    const from = u.posToVal(u.select.left, 'x');
    const to = u.posToVal(u.select.left + u.select.width, 'x');
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    onZoom(Math.round(from), Math.round(to));
  };
}

/** A hidden tooltip element inside the chart's cursor layer. */
export function createTooltip(u: uPlot): HTMLDivElement {
  const tip = document.createElement('div');
  tip.className = 'chart-tooltip';
  tip.style.display = 'none';
  u.over.appendChild(tip);
  return tip;
}

/** Shows the tooltip next to the cursor, on its left when it would overflow. */
export function placeTooltip(tip: HTMLDivElement, u: uPlot, left: number, top: number, html: string) {
  tip.innerHTML = html;
  tip.style.display = 'block';
  const x = left + 16;
  tip.style.left = (x + tip.offsetWidth > u.over.clientWidth ? Math.max(0, left - tip.offsetWidth - 16) : x) + 'px';
  tip.style.top = Math.max(0, top - 10) + 'px';
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Tick labels: time of day for short ranges, dates for long ones. */
export function timeTicks(splits: number[], rangeMs: number): string[] {
  return splits.map((t) => {
    const d = new Date(t);
    const hm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
    if (rangeMs <= 86_400_000) return rangeMs <= 600_000 ? hm + ':' + String(d.getSeconds()).padStart(2, '0') : hm;
    const md = `${String(d.getMonth() + 1).padStart(2, '0')}/${String(d.getDate()).padStart(2, '0')}`;
    return rangeMs <= 7 * 86_400_000 ? `${md} ${hm}` : md;
  });
}

/** Width of a value axis that fits its longest label (uPlot's `axis.size`). */
export function axisSize(_u: uPlot, values: string[] | null): number {
  const longest = (values ?? []).reduce((m, v) => Math.max(m, String(v ?? '').length), 0);
  return Math.max(40, Math.ceil(longest * 7) + 18);
}
