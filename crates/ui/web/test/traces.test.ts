import { describe, expect, it } from 'vitest';
import { buildTree, JTrace, parseTags } from '../src/traces/model';

const span = (id: string, parent: string | null, start: number, dur: number, tags: any[] = []) => ({
  traceID: 't',
  spanID: id,
  operationName: 'op-' + id,
  references: parent ? [{ refType: 'CHILD_OF', traceID: 't', spanID: parent }] : [],
  startTime: start,
  duration: dur,
  tags,
  processID: 'p1',
});

describe('trace tree', () => {
  // root 0..100; a 10..40; b 30..90 (child c 35..60). Jaeger's rule: back from b's start (30),
  // only a child that ended before 30 continues the path; a ends at 40, so root owns 0..30.
  const trace: JTrace = {
    traceID: 't',
    processes: { p1: { serviceName: 'svc' } },
    spans: [
      span('root', null, 0, 100),
      span('a', 'root', 10, 30),
      span('b', 'root', 30, 60, [{ key: 'otel.status_code', value: 'ERROR' }]),
      span('c', 'b', 35, 25),
      span('orphan', 'missing', 50, 5),
    ],
  };
  const tree = buildTree(trace);
  it('orders depth first by start, keeps orphans as roots', () => {
    expect(tree.ordered.map((n) => n.span.spanID)).toEqual(['root', 'a', 'b', 'c', 'orphan']);
    expect(tree.ordered.map((n) => n.depth)).toEqual([0, 1, 1, 2, 0]);
    expect(tree.errors).toBe(1);
    expect(tree.depth).toBe(3);
  });
  it('marks the critical path', () => {
    const crit = Object.fromEntries(tree.ordered.map((n) => [n.span.spanID, n.critical]));
    expect(crit.root).toEqual([[0, 30], [90, 100]]);
    expect(crit.b).toEqual([[30, 35], [60, 90]]);
    expect(crit.c).toEqual([[35, 60]]);
    expect(crit.a).toEqual([]);
  });
});

describe('tags', () => {
  it('parses logfmt like Jaeger UI', () => {
    expect(parseTags('http.status_code=500 error=true msg="a b"')).toEqual({ 'http.status_code': '500', error: 'true', msg: 'a b' });
    expect(typeof parseTags('no-equals')).toBe('string');
  });
});
