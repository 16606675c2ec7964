/** `npm run bench`'s table (bench/table.ts): figures read from the parts' last line, verdicts against the targets. */
import { describe, expect, it } from '@jest/globals';
import { missed, parseFigures, renderTable, tableRows } from '../../../bench/table.ts';

const row = (rows: string[][], label: string) => rows.find((r) => r[0] === label);

describe('bench table', () => {
  it('reads the last BENCH_JSON line of a part and ignores the rest', () => {
    const out = 'progress...\nBENCH_JSON {"p50Ms": 1}\nmore\nBENCH_JSON {"p50Ms": 42}\n';
    expect(parseFigures(out)).toEqual({ p50Ms: 42 });
    expect(parseFigures('no figures\n')).toBeUndefined();
    expect(() => parseFigures('BENCH_JSON {oops')).toThrow();
  });

  it('derives init ratios against the bare node of the same run and judges them at 2.5x', () => {
    const rows = tableRows({
      current: { bundles: { seconds: 1, figures: { bareNodeMs: 40, ingressInitMs: 90, workerInitMs: 120 } } },
    });
    expect(row(rows, 'ingress init / bare node')).toEqual([
      'ingress init / bare node',
      '<= 2.5x',
      '2.25x',
      'within',
    ]);
    expect(row(rows, 'worker init / bare node')?.slice(2)).toEqual(['3.00x', 'MISSED']);
  });

  it('judges worker CPU against half of the baseline, and only with one', () => {
    const cpu = (ms: number) => ({ cpu: { seconds: 1, figures: { workerCpuMsPerEvent1: ms } } });
    expect(row(tableRows({ current: cpu(3) }), 'worker CPU per event (batches of 1)')?.at(-1)).toBe('');
    const halved = tableRows({ current: cpu(3), baseline: cpu(6.2) });
    expect(row(halved, 'worker CPU per event (batches of 1)')?.slice(2)).toEqual([
      '6.20 ms',
      '3.00 ms',
      'within',
    ]);
    expect(
      row(tableRows({ current: cpu(3.5), baseline: cpu(6.2) }), 'worker CPU per event (batches of 1)')?.at(
        -1,
      ),
    ).toBe('MISSED');
  });

  it('shows a part that failed before as failed, and a scale run over 64 KB as missed', () => {
    const input = {
      current: {
        'scale-downtime': { seconds: 1, figures: { ok: true, largestItemBytes: 70 * 1024, pollMs: 900 } },
      },
      baseline: {
        'scale-downtime': { seconds: 1, error: 'exit 1: Item size has exceeded the maximum allowed size' },
      },
      baselineLabel: 'b52f86d',
    };
    const rows = tableRows(input);
    expect(row(rows, 'downtime 5,000 machines / 500 down: completes')?.slice(2)).toEqual([
      'failed',
      'yes',
      'within',
    ]);
    expect(row(rows, 'downtime 5,000 machines / 500 down: largest state item')?.slice(2)).toEqual([
      'failed',
      '70.0 KB',
      'MISSED',
    ]);
    expect(missed(input)).toBe(1);
    expect(renderTable(input).split('\n')[0]).toMatch(
      /^\| measure +\| target +\| before \(b52f86d\) \| +now \| verdict \|$/,
    );
  });

  it('marks a part of this checkout that gave no figures as FAILED', () => {
    const rows = tableRows({ current: { cost: { seconds: 1, error: 'exit 1: boom' } } });
    expect(row(rows, 'cost per 1M events (1 flow, default)')?.at(-1)).toBe('FAILED');
  });
});
