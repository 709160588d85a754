import { describe, expect, it } from 'vitest';
import { computeInterval, formatDuration, parseDuration, parseTime, resolveRange, roundInterval } from '../src/lib/time';

describe('durations', () => {
  it('parses Grafana/Prometheus durations', () => {
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('15')).toBe(15_000);
    expect(parseDuration('5 m')).toBeNull();
    expect(parseDuration('')).toBeNull();
  });
  it('formats the shortest exact text', () => {
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(500)).toBe('500ms');
    expect(formatDuration(86_400_000)).toBe('1d');
  });
});

describe('time expressions', () => {
  const now = new Date(2024, 4, 15, 13, 45, 30).getTime();
  it('relative and rounded', () => {
    expect(parseTime('now', false, now)).toBe(now);
    expect(parseTime('now-6h', false, now)).toBe(now - 6 * 3_600_000);
    expect(parseTime('now/d', false, now)).toBe(new Date(2024, 4, 15).getTime());
    expect(parseTime('now/d', true, now)).toBe(new Date(2024, 4, 16).getTime() - 1);
    expect(parseTime('now-1M', false, now)).toBe(new Date(2024, 3, 15, 13, 45, 30).getTime());
    expect(parseTime('now-x', false, now)).toBeNull();
  });
  it('absolute', () => {
    expect(parseTime('1715780000000')).toBe(1715780000000);
    expect(parseTime('2024-05-15 10:00:00')).toBe(new Date(2024, 4, 15, 10).getTime());
    expect(parseTime('yesterday')).toBeNull();
  });
  it('ranges must be ordered', () => {
    expect(resolveRange('now', 'now-1h')).toBeNull();
    expect(resolveRange('now-1h', 'now')!.to - resolveRange('now-1h', 'now')!.from).toBeGreaterThan(3_599_000);
  });
  it('intervals snap like Grafana and respect the minimum', () => {
    expect(roundInterval(113_000)).toBe(120_000);
    expect(computeInterval(86_400_000, 720, 15_000)).toBe(120_000);
    expect(computeInterval(3_600_000, 1000, 15_000)).toBe(15_000);
  });
});
