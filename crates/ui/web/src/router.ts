// Client-side routing over the History API: `navigate` pushes, `useLocation` re-renders.

import { useEffect, useState } from 'preact/hooks';

const listeners = new Set<() => void>();

export function navigate(to: string, replace = false) {
  const cur = location.pathname + location.search;
  if (to === cur) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  listeners.forEach((l) => l());
}

/** Updates the query string without a history entry (view state: time range, variables). */
export function replaceQuery(params: URLSearchParams) {
  const q = params.toString();
  const to = location.pathname + (q ? '?' + q : '');
  if (to !== location.pathname + location.search) {
    history.replaceState(null, '', to);
    listeners.forEach((l) => l());
  }
}

/** Like `replaceQuery`, but as a new history entry (a time-range change users may go back from). */
export function pushQuery(params: URLSearchParams) {
  const q = params.toString();
  navigate(location.pathname + (q ? '?' + q : ''));
}

window.addEventListener('popstate', () => listeners.forEach((l) => l()));

export function useLocation(): { path: string; query: URLSearchParams } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const l = () => setTick((t) => t + 1);
    listeners.add(l);
    return () => listeners.delete(l);
  }, []);
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

/** A link that navigates without reloading the page. */
export function linkClick(e: MouseEvent, to: string) {
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(to);
}
