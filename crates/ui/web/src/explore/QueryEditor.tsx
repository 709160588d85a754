// PromQL input with completion of metric names, functions, label names and label values.
// Enter (or Shift+Enter) runs the query; Tab/Enter accept a suggestion; Esc closes the list.

import { useEffect, useRef, useState } from 'preact/hooks';
import { contextAt, Context, Suggestion, suggestions } from './autocomplete';

interface Props {
  value: string;
  onChange: (v: string) => void;
  onRun: () => void;
}

export function QueryEditor({ value, onChange, onRun }: Props) {
  const ta = useRef<HTMLTextAreaElement>(null);
  const [items, setItems] = useState<Suggestion[]>([]);
  const [sel, setSel] = useState(0);
  const [ctx, setCtx] = useState<Context>({ kind: 'none' });
  const seq = useRef(0);

  const update = (text: string, pos: number) => {
    const c = contextAt(text, pos);
    setCtx(c);
    const n = ++seq.current;
    suggestions(c).then((s) => {
      if (n !== seq.current) return;
      // Nothing to offer when the only candidate is what is typed already.
      const p = 'prefix' in c ? c.prefix : '';
      setItems(s.length === 1 && s[0].text === p ? [] : s);
      setSel(0);
    });
  };

  const accept = (s: Suggestion) => {
    if (ctx.kind === 'none') return;
    const el = ta.current!;
    const pos = el.selectionStart;
    let insert = s.insert ?? s.text;
    let after = value.slice(pos);
    // Replace the rest of the current word too.
    after = after.replace(/^[\w:.]*/, '');
    if (ctx.kind === 'labelName' && !/^\s*(=|!=|=~|!~)/.test(after) && value.slice(0, ctx.from).lastIndexOf('{') > value.slice(0, ctx.from).lastIndexOf('}'))
      insert += '="';
    if (ctx.kind === 'labelValue' && !after.startsWith('"')) insert += '"';
    const next = value.slice(0, ctx.from) + insert + after;
    const cursor = ctx.from + insert.length;
    // Text and cursor are set here, synchronously. (Deferring the cursor to the next frame
    // let it collapse a selection made in between: select-all then paste appended instead.)
    // The render that follows sees the field already holding `next` and leaves it alone.
    el.value = next;
    el.setSelectionRange(cursor, cursor);
    el.focus();
    onChange(next);
    setItems([]);
    update(next, cursor);
  };

  useEffect(() => {
    const el = ta.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = Math.min(300, el.scrollHeight + 2) + 'px';
  }, [value]);

  return (
    <div class="query-editor">
      <textarea
        ref={ta}
        class="promql-input"
        spellcheck={false}
        rows={1}
        value={value}
        placeholder="Enter a PromQL query (Shift+Enter for a new line)…"
        aria-label="PromQL query"
        onInput={(e) => {
          const el = e.target as HTMLTextAreaElement;
          onChange(el.value);
          update(el.value, el.selectionStart);
        }}
        onClick={(e) => update(value, (e.target as HTMLTextAreaElement).selectionStart)}
        onBlur={() => setTimeout(() => setItems([]), 150)}
        onKeyDown={(e) => {
          if (items.length) {
            if (e.key === 'ArrowDown') {
              e.preventDefault();
              return setSel((sel + 1) % items.length);
            }
            if (e.key === 'ArrowUp') {
              e.preventDefault();
              return setSel((sel - 1 + items.length) % items.length);
            }
            if (e.key === 'Tab' || (e.key === 'Enter' && !e.shiftKey)) {
              e.preventDefault();
              return accept(items[sel]);
            }
            if (e.key === 'Escape') return setItems([]);
          }
          if (e.key === 'Enter' && !e.shiftKey) {
            e.preventDefault();
            setItems([]);
            onRun();
          }
        }}
      />
      {items.length > 0 && (
        <ul class="suggestions" role="listbox">
          {items.slice(0, 50).map((s, i) => (
            <li
              key={s.kind + s.text}
              class={i === sel ? 'active' : ''}
              role="option"
              aria-selected={i === sel}
              onMouseDown={(e) => {
                e.preventDefault();
                accept(s);
              }}
            >
              <span class={'sugg-kind kind-' + s.kind}>{s.kind[0].toUpperCase()}</span>
              {s.text}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
