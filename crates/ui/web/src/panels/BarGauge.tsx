// Bar gauge panel: one bar per series, basic, gradient or LCD, horizontal or vertical.

import type { Panel } from '../dashboard/model';
import type { Frame } from '../dashboard/query';
import { color } from './fieldConfig';
import { autoMax, reduced } from './reduce';

export function BarGauge({ panel, frames }: { panel: Panel; frames: Frame[] }) {
  let items = reduced(panel, frames);
  if (items.some((i) => i.cfg.max == null)) items = reduced(panel, frames, autoMax(items));
  const mode = panel.options?.displayMode ?? 'gradient';
  const vertical = panel.options?.orientation === 'vertical';
  return (
    <div class={'bargauge' + (vertical ? ' vertical' : '')}>
      {items.map((it, i) => {
        const frac = it.value === null ? 0 : Math.max(0, Math.min(1, (it.value - it.min) / (it.max - it.min || 1)));
        const steps = (it.cfg.thresholds?.steps ?? []).map((s) => color(s.color));
        const fill =
          mode === 'gradient' && steps.length > 1
            ? `linear-gradient(${vertical ? 'to top' : 'to right'}, ${steps.join(', ')})`
            : mode === 'lcd'
              ? `repeating-linear-gradient(${vertical ? 'to top' : 'to right'}, ${it.color} 0 6px, transparent 6px 8px)`
              : it.color;
        const size = `${(frac * 100).toFixed(2)}%`;
        return (
          <div class="bg-row" key={i} data-value={it.value ?? ''}>
            <div class="bg-name">{it.name}</div>
            <div class="bg-track">
              <div class="bg-bar" style={vertical ? { height: size, background: fill } : { width: size, background: fill }} />
            </div>
            <div class="bg-value" style={{ color: it.color }}>
              {(it.display.prefix ?? '') + it.display.text + it.display.suffix}
            </div>
          </div>
        );
      })}
    </div>
  );
}
