import { describe, expect, it } from '@jest/globals';
import {
  ago,
  bufferIo,
  duration,
  parseLimit,
  parseRate,
  parseTime,
  progress,
  table,
} from '../../../cli/output.ts';

const NOW = new Date('2026-12-06T12:00:00.000Z');

describe('cli output', () => {
  it('parses durations and ISO times, and names the option of a bad one', () => {
    expect(parseTime('2h', NOW).toISOString()).toBe('2026-12-06T10:00:00.000Z');
    expect(parseTime('30m', NOW).toISOString()).toBe('2026-12-06T11:30:00.000Z');
    expect(parseTime('7d', NOW).toISOString()).toBe('2026-11-29T12:00:00.000Z');
    expect(parseTime('2026-12-01T08:00:00Z', NOW).toISOString()).toBe('2026-12-01T08:00:00.000Z');
    expect(() => parseTime('last week', NOW, '--from')).toThrow('--from: "last week" is neither');
    expect(parseRate('5/s')).toBe(5);
    expect(parseRate('0.5')).toBe(0.5);
    expect(() => parseRate('0')).toThrow('--rate');
    expect(() => parseLimit('1.5')).toThrow('--limit');
  });

  it('refuses a day the calendar has not (2026-02-30), not rolled into March by Date.parse', () => {
    expect(() => parseTime('2026-02-30', NOW, '--from')).toThrow('--from: "2026-02-30" is neither');
    expect(() => parseTime('2026-11-31T08:00:00Z', NOW, '--to')).toThrow('--to: "2026-11-31T08:00:00Z"');
    expect(parseTime('2028-02-29', NOW).toISOString()).toBe('2028-02-29T00:00:00.000Z');
    expect(parseTime('2026-12-01T00:30:00+01:00', NOW).toISOString()).toBe('2026-11-30T23:30:00.000Z');
  });

  it("refuses a time of day without a zone: read as the laptop's local time it would move a backfill window (Paris 2026-03-29T02:30 never happens)", () => {
    expect(() => parseTime('2026-03-29T02:30:00', NOW, '--from')).toThrow(
      '--from: "2026-03-29T02:30:00" has no zone',
    );
    expect(() => parseTime('2026-10-25 02:30', NOW, '--to')).toThrow('--to: "2026-10-25 02:30" has no zone');
    expect(parseTime('2026-10-25T02:30:00+02:00', NOW).toISOString()).toBe('2026-10-25T00:30:00.000Z');
    expect(parseTime('2026-10-25T02:30:00+01:00', NOW).toISOString()).toBe('2026-10-25T01:30:00.000Z');
    expect(parseTime('2026-10-25T02:30:00z', NOW).toISOString()).toBe('2026-10-25T02:30:00.000Z');
    // A date alone is midnight UTC (ECMAScript reads a date-only form as UTC).
    expect(parseTime('2026-03-29', NOW).toISOString()).toBe('2026-03-29T00:00:00.000Z');
  });

  it('says durations and ages the way people do', () => {
    expect(duration(42)).toBe('42s');
    expect(duration(3600 * 3 + 1200)).toBe('3h 20m');
    expect(duration(86_400 * 2)).toBe('2d');
    expect(ago('2026-12-06T11:57:00.000Z', NOW)).toBe('3m ago');
    expect(ago(undefined, NOW)).toBe('-');
  });

  it('aligns tables and cuts the flexible column to the width', () => {
    const out = table(
      [{ header: 'A' }, { header: 'N', right: true }, { header: 'MESSAGE', flexible: true }],
      [['x', '5', 'y'.repeat(100)]],
      40,
    );
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^A\s+N\s+MESSAGE$/);
    expect(lines[1]?.endsWith('…')).toBe(true);
    expect(lines[1]?.length).toBeLessThanOrEqual(40);
  });

  it('reports progress as plain lines without a terminal', () => {
    const io = bufferIo();
    const p = progress(io, 'replay', 8);
    for (let i = 1; i <= 8; i++) p.update(i);
    p.stop();
    expect(io.stderr.join('')).toContain('replay: 8/8 done');
    expect(io.stderr.length).toBeLessThanOrEqual(6);
  });
});
