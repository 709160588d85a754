// Time range picker (quick relative ranges from 5m to 30d, absolute from/to, zoom out,
// shift) and the refresh picker (run now, auto-refresh interval).

import { useEffect, useRef, useState } from 'preact/hooks';
import { describeRange, formatDateTime, parseTime, QUICK_RANGES, TimeRange } from '../lib/time';

interface Props {
  range: TimeRange;
  onChange: (from: string, to: string) => void;
}

export function TimePicker({ range, onChange }: Props) {
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState(range.raw.from);
  const [to, setTo] = useState(range.raw.to);
  const [error, setError] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const show = (raw: string, ms: number) => (raw.startsWith('now') ? raw : formatDateTime(ms));
    setFrom(show(range.raw.from, range.from));
    setTo(show(range.raw.to, range.to));
    setError(null);
  }, [range.raw.from, range.raw.to, open]);
  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => {
      if (box.current && !box.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', close);
    return () => document.removeEventListener('mousedown', close);
  }, [open]);

  const apply = (e: Event) => {
    e.preventDefault();
    const f = parseTime(from);
    const t = parseTime(to, true);
    if (f === null) return setError(`"${from}" is not a valid time`);
    if (t === null) return setError(`"${to}" is not a valid time`);
    if (f >= t) return setError('"From" must be before "To"');
    const enc = (s: string, ms: number) => (s.trim().startsWith('now') ? s.trim() : String(ms));
    onChange(enc(from, f), enc(to, t));
    setOpen(false);
  };
  const shift = (dir: number) => {
    const span = range.to - range.from;
    onChange(String(Math.round(range.from + (dir * span) / 2)), String(Math.round(range.to + (dir * span) / 2)));
  };
  const zoomOut = () => {
    const span = range.to - range.from;
    const to = Math.min(Date.now(), range.to + span / 2);
    onChange(String(Math.round(to - span * 2)), range.raw.to === 'now' ? 'now' : String(Math.round(to)));
  };

  return (
    <div class="timepicker" ref={box}>
      <button class="btn" onClick={() => shift(-1)} title="Move the range back">
        ‹
      </button>
      <button class="btn tp-open" onClick={() => setOpen(!open)} aria-expanded={open} title="Time range">
        <svg class="icon" viewBox="0 0 16 16" aria-hidden="true">
          <circle cx="8" cy="8" r="6.5" fill="none" stroke="currentColor" stroke-width="1.5" />
          <path d="M8 4.5V8l2.5 1.5" fill="none" stroke="currentColor" stroke-width="1.5" />
        </svg>
        {describeRange(range)}
      </button>
      <button class="btn" onClick={() => shift(1)} title="Move the range forward">
        ›
      </button>
      <button class="btn" onClick={zoomOut} title="Zoom out (double the range)">
        ⊖
      </button>
      {open && (
        <div class="tp-dropdown">
          <form class="tp-absolute" onSubmit={apply}>
            <div class="tp-heading">Absolute time range</div>
            <label>
              From
              <input name="from" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
            </label>
            <label>
              To
              <input name="to" value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
            </label>
            {error && <div class="error-text">{error}</div>}
            <button class="btn primary" type="submit">
              Apply time range
            </button>
            <div class="muted small">e.g. now-6h, now/d, 2026-01-31 08:00:00</div>
          </form>
          <ul class="tp-quick">
            {QUICK_RANGES.map((q) => (
              <li key={q.from}>
                <button
                  class={'link' + (range.raw.from === q.from && range.raw.to === 'now' ? ' active' : '')}
                  onClick={() => {
                    onChange(q.from, 'now');
                    setOpen(false);
                  }}
                >
                  {q.label}
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

export const REFRESH_INTERVALS = ['5s', '10s', '30s', '1m', '5m', '15m', '30m', '1h', '2h', '1d'];

export function RefreshPicker({
  value,
  onChange,
  onRefresh,
  intervals,
}: {
  value: string;
  onChange: (v: string) => void;
  onRefresh: () => void;
  intervals?: string[];
}) {
  const list = intervals?.length ? intervals : REFRESH_INTERVALS;
  return (
    <div class="refreshpicker">
      <button class="btn" onClick={onRefresh} title="Refresh now">
        ⟳
      </button>
      <select value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value)} title="Auto refresh" aria-label="Auto refresh">
        <option value="">Off</option>
        {list.map((i) => (
          <option key={i} value={i}>
            {i}
          </option>
        ))}
      </select>
    </div>
  );
}
