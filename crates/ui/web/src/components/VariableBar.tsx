// The dashboard's variable pickers: single or multi-select (with All), text boxes.

import { useEffect, useRef, useState } from 'preact/hooks';
import { ALL, displayOptions, VarState } from '../dashboard/variables';

export function VariableBar({ vars, onChange }: { vars: VarState[]; onChange: (name: string, value: string[]) => void }) {
  // Ad hoc filters (and other kinds Pharos does not offer) have no picker.
  const kinds = ['query', 'custom', 'interval', 'textbox', 'datasource'];
  const shown = vars.filter((v) => v.hide !== 2 && kinds.includes(v.type));
  if (!shown.length) return null;
  return (
    <div class="varbar">
      {shown.map((v) => (
        <div class="var" key={v.name} data-var={v.name}>
          {v.hide !== 1 && <label class="var-label">{v.label}</label>}
          {v.type === 'textbox' ? (
            <TextBox v={v} onChange={onChange} />
          ) : (
            <Select v={v} onChange={onChange} />
          )}
          {v.error && (
            <span class="var-error" title={v.error}>
              ⚠
            </span>
          )}
        </div>
      ))}
    </div>
  );
}

function TextBox({ v, onChange }: { v: VarState; onChange: (name: string, value: string[]) => void }) {
  const [text, setText] = useState(v.value[0] ?? '');
  useEffect(() => setText(v.value[0] ?? ''), [v.value[0]]);
  return (
    <input
      class="var-text"
      value={text}
      onInput={(e) => setText((e.target as HTMLInputElement).value)}
      onBlur={() => text !== v.value[0] && onChange(v.name, [text])}
      onKeyDown={(e) => e.key === 'Enter' && onChange(v.name, [text])}
    />
  );
}

function Select({ v, onChange }: { v: VarState; onChange: (name: string, value: string[]) => void }) {
  const [open, setOpen] = useState(false);
  const [filter, setFilter] = useState('');
  const [draft, setDraft] = useState<string[]>(v.value);
  const box = useRef<HTMLDivElement>(null);
  const opts = displayOptions(v);
  const textOf = (val: string) => (val === ALL ? 'All' : (opts.find((o) => o.value === val)?.text ?? val));
  const label = v.value.length ? v.value.map(textOf).join(' + ') : v.loading ? '…' : 'None';

  const commit = (vals: string[]) => {
    setOpen(false);
    setFilter('');
    if (JSON.stringify(vals) !== JSON.stringify(v.value)) onChange(v.name, vals);
  };
  useEffect(() => {
    if (!open) return;
    setDraft(v.value);
    const close = (e: MouseEvent) => {
      if (box.current && !box.current.contains(e.target as Node)) {
        if (v.multi) commit(draftRef.current);
        else setOpen(false);
      }
    };
    document.addEventListener('mousedown', close);
    return () => document.removeEventListener('mousedown', close);
  }, [open]);
  const draftRef = useRef(draft);
  draftRef.current = draft;

  const toggle = (val: string) => {
    if (!v.multi) return commit([val]);
    let next: string[];
    if (val === ALL) next = [ALL];
    else {
      const base = draft.filter((x) => x !== ALL);
      next = base.includes(val) ? base.filter((x) => x !== val) : [...base, val];
      if (!next.length) next = v.includeAll ? [ALL] : [];
    }
    setDraft(next);
  };
  const visible = opts.filter((o) => !filter || o.text.toLowerCase().includes(filter.toLowerCase()));
  return (
    <div class="var-select" ref={box}>
      <button class="btn var-button" onClick={() => (open && v.multi ? commit(draft) : setOpen(!open))} aria-expanded={open}>
        {label} ▾
      </button>
      {open && (
        <div class="var-dropdown" role="listbox">
          <input
            class="var-filter"
            placeholder="Filter"
            value={filter}
            autoFocus
            onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') v.multi ? commit(draft) : visible[0] && commit([visible[0].value]);
              if (e.key === 'Escape') setOpen(false);
            }}
          />
          <ul>
            {visible.slice(0, 1000).map((o) => {
              const sel = (v.multi ? draft : v.value).includes(o.value);
              return (
                <li key={o.value} class={sel ? 'selected' : ''} role="option" aria-selected={sel} onClick={() => toggle(o.value)}>
                  {v.multi && <input type="checkbox" checked={sel} readOnly />} {o.text}
                </li>
              );
            })}
            {!visible.length && <li class="muted">No options</li>}
          </ul>
          {v.multi && (
            <button class="btn primary" onClick={() => commit(draft)}>
              Apply
            </button>
          )}
        </div>
      )}
    </div>
  );
}
