import { describe, expect, it } from 'vitest';
import { resolveRange } from '../src/lib/time';
import { ALL, applyRegex, customOptions, dependents, initState, interpolate, macros, pickValue, referencedVars, Scope, VarState } from '../src/dashboard/variables';

function v(model: any, options: string[], value: string[]): VarState {
  return { ...initState(model), options: options.map((o) => ({ text: o, value: o })), value };
}

function scope(vars: VarState[], builtins: Record<string, string> = {}): Scope {
  return { vars: new Map(vars.map((x) => [x.name, x])), builtins };
}

describe('interpolation', () => {
  const single = v({ name: 'job', type: 'custom' }, ['api', 'web'], ['api']);
  const multi = v({ name: 'inst', type: 'custom', multi: true, includeAll: true }, ['a.1', 'b|2'], ['a.1', 'b|2']);
  const all = v({ name: 'route', type: 'custom', multi: true, includeAll: true, allValue: '.*' }, ['/x', '/y'], [ALL]);
  const allNoValue = v({ name: 'h', type: 'custom', includeAll: true }, ['p', 'q'], [ALL]);
  const s = scope([single, multi, all, allNoValue], { __rate_interval: '1m' });
  it('replaces $var, ${var} and [[var]]', () => {
    expect(interpolate('up{job="$job"} ${job} [[job]]', s)).toBe('up{job="api"} api api');
  });
  it('multi-values become an escaped alternation', () => {
    expect(interpolate('x{i=~"$inst"}', s)).toBe('x{i=~"(a\\\\.1|b\\\\|2)"}');
  });
  it('All uses allValue raw, or every option', () => {
    expect(interpolate('$route', s)).toBe('.*');
    expect(interpolate('$h', s)).toBe('(p|q)');
  });
  it('formats', () => {
    expect(interpolate('${inst:csv}', s)).toBe('a.1,b|2');
    expect(interpolate('${inst:pipe}', s)).toBe('a.1|b|2');
    expect(interpolate('${inst:json}', s)).toBe('["a.1","b|2"]');
    expect(interpolate('${route:text}', s)).toBe('All');
    expect(interpolate('${inst:regex}', s)).toBe('(a\\.1|b\\|2)');
  });
  it('macros and unknown names', () => {
    expect(interpolate('rate(x[$__rate_interval]) $nope', s)).toBe('rate(x[1m]) $nope');
    expect(referencedVars('a $x ${y:csv} [[z]]')).toEqual(['x', 'y', 'z']);
  });
  it('computes $__rate_interval as Grafana does', () => {
    const r = resolveRange('now-1h', 'now')!;
    expect(macros(r, 15_000).__rate_interval).toBe('1m');
    expect(macros(r, 120_000).__rate_interval).toBe('2m15s');
    expect(macros(r, 30_000, 60_000).__rate_interval).toBe('4m');
    expect(macros(r, 15_000).__range).toMatch(/^360\ds$/);
  });
});

describe('options', () => {
  it('custom values and key : value pairs', () => {
    expect(customOptions('a, b\\,c ,d')).toEqual([
      { text: 'a', value: 'a' },
      { text: 'b,c', value: 'b,c' },
      { text: 'd', value: 'd' },
    ]);
    expect(customOptions('Prod : prod-1')).toEqual([{ text: 'Prod', value: 'prod-1' }]);
  });
  it('regex keeps matches and capture groups', () => {
    expect(applyRegex(['node-a:9100', 'node-b:9100', 'other'], '/node-(.*):.*/').map((o) => o.value)).toEqual(['a', 'b']);
    expect(applyRegex(['x=1', 'y=2'], '/(?<text>\\w)=(?<value>\\d)/')).toEqual([
      { text: 'x', value: '1' },
      { text: 'y', value: '2' },
    ]);
    expect(() => applyRegex(['a'], '/(/')).toThrow();
  });
  it('picks URL values, else saved current, else All or the first option', () => {
    const base = v({ name: 'x', type: 'query', multi: true, includeAll: true, current: { value: ['b'] } }, ['a', 'b', 'c'], []);
    expect(pickValue(base, ['c', 'zz'])).toEqual(['c']);
    expect(pickValue(base, null)).toEqual(['b']);
    const fresh = v({ name: 'y', type: 'query', includeAll: true }, ['a'], []);
    expect(pickValue(fresh, null)).toEqual([ALL]);
    const plain = v({ name: 'z', type: 'query' }, ['a', 'b'], []);
    expect(pickValue(plain, ['nope'])).toEqual(['a']);
  });
  it('cascading: dependents in list order, transitively', () => {
    const vars = [
      v({ name: 'a', type: 'query', query: 'label_values(a)' }, [], []),
      v({ name: 'b', type: 'query', query: 'label_values(x{a="$a"}, b)' }, [], []),
      v({ name: 'c', type: 'query', query: 'label_values(x{b="$b"}, c)' }, [], []),
      v({ name: 'd', type: 'query', query: 'label_values(d)' }, [], []),
    ];
    expect(dependents(vars, 'a')).toEqual([1, 2]);
    expect(dependents(vars, 'c')).toEqual([]);
  });
});
