// Stat panel: big value per series, colored by thresholds or mappings, optional sparkline.

import type { Panel } from '../dashboard/model';
import type { Frame } from '../dashboard/query';
import { reduced } from './reduce';

function sparkPath(f: Frame, w: number, h: number): string | null {
  const pts = f.times.map((t, i) => [t, f.values[i]] as const).filter(([, v]) => v !== null && isFinite(v));
  if (pts.length < 2) return null;
  const t0 = pts[0][0];
  const t1 = pts[pts.length - 1][0];
  let lo = Infinity;
  let hi = -Infinity;
  for (const [, v] of pts) {
    lo = Math.min(lo, v!);
    hi = Math.max(hi, v!);
  }
  if (hi === lo) hi = lo + 1;
  const x = (t: number) => ((t - t0) / (t1 - t0 || 1)) * w;
  const y = (v: number) => h - ((v - lo) / (hi - lo)) * h * 0.9;
  return `M0,${h} ` + pts.map(([t, v]) => `L${x(t).toFixed(1)},${y(v!).toFixed(1)}`).join(' ') + ` L${w},${h} Z`;
}

export function Stat({ panel, frames }: { panel: Panel; frames: Frame[] }) {
  const items = reduced(panel, frames);
  const colorMode = panel.options?.colorMode ?? 'value';
  const graphMode = panel.options?.graphMode ?? 'area';
  const textMode = panel.options?.textMode ?? 'auto';
  const showName = textMode === 'value_and_name' || textMode === 'name' || (textMode === 'auto' && items.length > 1);
  const horizontal = panel.options?.orientation === 'horizontal';
  return (
    <div class={'stat-grid' + (horizontal ? ' horizontal' : '')}>
      {items.map((it, i) => {
        const bg = colorMode === 'background' || colorMode === 'background_solid';
        const path = graphMode === 'area' && !it.frame.instant ? sparkPath(it.frame, 200, 50) : null;
        return (
          <div
            class="stat-item"
            key={i}
            style={bg ? { background: it.color, color: '#fff' } : undefined}
            data-value={it.value ?? ''}
          >
            {showName && <div class="stat-name">{it.name}</div>}
            {textMode !== 'name' && textMode !== 'none' && (
              <div class="stat-value" style={colorMode === 'value' ? { color: it.color } : undefined}>
                {it.display.prefix}
                {it.display.text}
                <span class="stat-suffix">{it.display.suffix}</span>
              </div>
            )}
            {path && (
              <svg class="stat-spark" viewBox="0 0 200 50" preserveAspectRatio="none">
                <path d={path} fill={bg ? '#ffffff33' : it.color + '33'} stroke={bg ? '#ffffff88' : it.color} stroke-width="1" vector-effect="non-scaling-stroke" />
              </svg>
            )}
          </div>
        );
      })}
    </div>
  );
}
