// Gauge panel: an arc per series from min to max, with threshold bands.

import type { Panel } from '../dashboard/model';
import type { Frame } from '../dashboard/query';
import { color } from './fieldConfig';
import { autoMax, reduced } from './reduce';

function arc(cx: number, cy: number, r: number, a0: number, a1: number): string {
  const p = (a: number) => [cx + r * Math.cos(a), cy + r * Math.sin(a)];
  const [x0, y0] = p(a0);
  const [x1, y1] = p(a1);
  return `M${x0.toFixed(2)},${y0.toFixed(2)} A${r},${r} 0 ${a1 - a0 > Math.PI ? 1 : 0} 1 ${x1.toFixed(2)},${y1.toFixed(2)}`;
}

const START = Math.PI * 0.75;
const SWEEP = Math.PI * 1.5;

export function Gauge({ panel, frames }: { panel: Panel; frames: Frame[] }) {
  let items = reduced(panel, frames);
  if (items.some((i) => i.cfg.max == null)) {
    const m = autoMax(items);
    items = reduced(panel, frames, m > 100 || items.some((i) => i.cfg.unit !== 'percent') ? m : 100);
  }
  const showMarkers = panel.options?.showThresholdMarkers !== false;
  return (
    <div class="gauge-grid">
      {items.map((it, i) => {
        const frac = it.value === null ? 0 : Math.max(0, Math.min(1, (it.value - it.min) / (it.max - it.min || 1)));
        const steps = it.cfg.thresholds?.steps ?? [];
        const pct = it.cfg.thresholds?.mode === 'percentage';
        const toFrac = (v: number) => (pct ? v / 100 : (v - it.min) / (it.max - it.min || 1));
        return (
          <div class="gauge-item" key={i} data-value={it.value ?? ''}>
            <svg viewBox="0 0 100 84" class="gauge-svg">
              <path d={arc(50, 50, 40, START, START + SWEEP)} stroke="#2c3235" stroke-width="9" fill="none" />
              {frac > 0 && <path d={arc(50, 50, 40, START, START + SWEEP * Math.max(0.002, frac))} stroke={it.color} stroke-width="9" fill="none" />}
              {showMarkers &&
                steps.map((s, j) => {
                  const f0 = s.value == null ? 0 : Math.max(0, Math.min(1, toFrac(s.value)));
                  const next = steps[j + 1];
                  const f1 = next?.value == null ? 1 : Math.max(0, Math.min(1, toFrac(next.value)));
                  if (f1 <= f0) return null;
                  return <path key={j} d={arc(50, 50, 47, START + SWEEP * f0, START + SWEEP * f1)} stroke={color(s.color)} stroke-width="2.5" fill="none" />;
                })}
              <text x="50" y="56" text-anchor="middle" class="gauge-text" fill={it.color}>
                {(it.display.prefix ?? '') + it.display.text + it.display.suffix}
              </text>
            </svg>
            {items.length > 1 && <div class="gauge-name">{it.name}</div>}
          </div>
        );
      })}
    </div>
  );
}
