// Grid layout of a section: panels on Grafana's 24-column grid, with `repeat` panels
// expanded (one copy per selected value of the variable) and later panels moved down.

import type { Panel } from './model';
import { ALL, Scope, VarState } from './variables';

export interface Placed {
  key: string;
  panel: Panel;
  scope: Scope;
  x: number;
  y: number;
  w: number;
  h: number;
}

export const CELL_HEIGHT = 30;
export const CELL_GAP = 8;

export function heightPx(h: number): number {
  return h * CELL_HEIGHT + (h - 1) * CELL_GAP;
}

function repeatValues(v: VarState): string[] {
  if (v.value.includes(ALL)) return v.options.map((o) => o.value);
  return v.value;
}

/** Places the panels of a section; positions are relative to the section's top. */
export function place(panels: Panel[], scope: Scope): Placed[] {
  const sorted = [...panels].sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x);
  const top = sorted.length ? Math.min(...sorted.map((p) => p.gridPos.y)) : 0;
  const items: Placed[] = sorted.map((p) => ({ key: String(p.id), panel: p, scope, x: p.gridPos.x, y: p.gridPos.y - top, w: p.gridPos.w, h: p.gridPos.h }));
  const out: Placed[] = [];
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    const v = it.panel.repeat ? scope.vars.get(it.panel.repeat) : undefined;
    const values = v ? repeatValues(v) : [];
    if (!v || values.length === 0) {
      out.push(it);
      continue;
    }
    const copies = values.map((value, n) => {
      const vars = new Map(scope.vars);
      vars.set(v.name, { ...v, value: [value] });
      return { key: `${it.panel.id}-${n}`, panel: it.panel, scope: { vars, builtins: scope.builtins } };
    });
    let extra = 0;
    if (it.panel.repeatDirection === 'v') {
      copies.forEach((c, n) => out.push({ ...c, x: it.x, y: it.y + n * it.h, w: it.w, h: it.h }));
      extra = (copies.length - 1) * it.h;
    } else {
      const maxPerRow = it.panel.maxPerRow || 4;
      const w = Math.max(Math.floor(24 / copies.length), Math.floor(24 / maxPerRow), 1);
      const perRow = Math.max(1, Math.floor(24 / w));
      copies.forEach((c, n) => out.push({ ...c, x: (n % perRow) * w, y: it.y + Math.floor(n / perRow) * it.h, w, h: it.h }));
      extra = (Math.ceil(copies.length / perRow) - 1) * it.h;
    }
    if (extra > 0) for (let j = i + 1; j < items.length; j++) if (items[j].y >= it.y + it.h || items[j].y > it.y) items[j].y += extra;
  }
  return out;
}
