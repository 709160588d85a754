// Text panel: markdown or HTML (sanitised), with dashboard variables interpolated.

import DOMPurify from 'dompurify';
import { marked } from 'marked';
import type { Panel } from '../dashboard/model';

export function Text({ panel, interpolate }: { panel: Panel; interpolate: (s: string) => string }) {
  const mode = panel.options?.mode ?? panel.mode ?? 'markdown';
  const content = interpolate(String(panel.options?.content ?? panel.content ?? ''));
  const html = mode === 'html' ? content : mode === 'code' ? null : (marked.parse(content, { async: false }) as string);
  if (html === null) return <pre class="text-panel code">{content}</pre>;
  return <div class="text-panel markdown" dangerouslySetInnerHTML={{ __html: DOMPurify.sanitize(html) }} />;
}
