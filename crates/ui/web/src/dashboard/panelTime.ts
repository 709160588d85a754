// A panel's own time range (`timeFrom`, `timeShift`), as Grafana applies it.

import { parseDuration, TimeRange } from '../lib/time';
import type { Panel } from './model';
import { interpolate, Scope } from './variables';

/**
 * A panel's own time range: `timeFrom` (e.g. `24h`: the last 24 hours whatever the
 * dashboard shows) and `timeShift` (e.g. `1d`: the same range a day earlier), as in Grafana.
 */
export function panelRange(panel: Panel, range: TimeRange, scope: Scope): { range: TimeRange; note: string | null } {
  const from = panel.timeFrom ? interpolate(String(panel.timeFrom), scope, false) : '';
  const shift = panel.timeShift ? interpolate(String(panel.timeShift), scope, false) : '';
  let r = range;
  const notes: string[] = [];
  const fromMs = from ? parseDuration(from.replace(/^now-/, '')) : null;
  if (fromMs) {
    r = { raw: { from: `now-${from.replace(/^now-/, '')}`, to: 'now' }, from: r.to - fromMs, to: r.to };
    notes.push(`Last ${from.replace(/^now-/, '')}`);
  }
  const shiftMs = shift ? parseDuration(shift.replace(/^-/, '')) : null;
  if (shiftMs) {
    r = { raw: { from: String(r.from - shiftMs), to: String(r.to - shiftMs) }, from: r.from - shiftMs, to: r.to - shiftMs };
    notes.push(`timeshift -${shift.replace(/^-/, '')}`);
  }
  return { range: r, note: notes.length && !panel.hideTimeOverride ? notes.join(' ') : null };
}

