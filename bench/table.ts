/**
 * The figures `npm run bench` collects from its parts, and the one table it prints against the
 * targets. Pure functions: bench/run.ts runs the parts, this turns their `BENCH_JSON` lines into rows.
 */

/** One part's figures, as its last `BENCH_JSON {...}` line printed them; absent when it failed. */
export type Figures = Record<string, unknown>;

export interface PartResult {
  figures?: Figures;
  /** Why the part gave no figures (its exit status and last lines of output). */
  error?: string;
  seconds: number;
}

export const BENCH_JSON_PREFIX = 'BENCH_JSON ';

/** The figures in a part's stdout: its last `BENCH_JSON` line, or undefined. */
export function parseFigures(stdout: string): Figures | undefined {
  const line = stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith(BENCH_JSON_PREFIX));
  if (!line) return undefined;
  const value: unknown = JSON.parse(line.slice(BENCH_JSON_PREFIX.length));
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Figures) : undefined;
}

type Check = (value: number, baseline: number | undefined) => boolean | undefined;

export interface Metric {
  part: string;
  key: string;
  label: string;
  unit: string;
  digits: number;
  target: string;
  /** Within target? undefined: no target, or it needs a baseline that is absent. */
  check?: Check;
  /** Compute the figure from the part's figures instead of reading `key`. */
  derive?: (f: Figures) => number | undefined;
}

const atMost =
  (limit: number): Check =>
  (v) =>
    v <= limit;
const atLeast =
  (limit: number): Check =>
  (v) =>
    v >= limit;

/** Figures of n8n 2.8.4 on this machine (Webhook node -> HTTP Request node), as issue 14 measured them. */
export const N8N_EVENTS_PER_SECOND_AT_8 = 49;
export const MAX_STATE_ITEM_BYTES = 64 * 1024;

const num = (f: Figures | undefined, key: string): number | undefined => {
  const v = f?.[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
};

export const METRICS: readonly Metric[] = [
  { part: 'bundles', key: 'bareNodeMs', label: "bare `node -e ''`", unit: 'ms', digits: 0, target: '-' },
  {
    part: 'bundles',
    key: 'ingressInitMs',
    label: 'ingress init',
    unit: 'ms',
    digits: 0,
    target: '-',
  },
  {
    part: 'bundles',
    key: 'ingressRatio',
    label: 'ingress init / bare node',
    unit: 'x',
    digits: 2,
    target: '<= 2.5x',
    check: atMost(2.5),
    derive: (f) => ratio(f, 'ingressInitMs'),
  },
  {
    part: 'bundles',
    key: 'workerInitMs',
    label: 'worker init (slowest)',
    unit: 'ms',
    digits: 0,
    target: '-',
  },
  {
    part: 'bundles',
    key: 'workerRatio',
    label: 'worker init / bare node',
    unit: 'x',
    digits: 2,
    target: '<= 2.5x',
    check: atMost(2.5),
    derive: (f) => ratio(f, 'workerInitMs'),
  },
  {
    part: 'bundles',
    key: 'sdkFloorRatio',
    label: 'SDK floor: DynamoDB client alone / bare node',
    unit: 'x',
    digits: 2,
    target: '-',
    derive: (f) => ratio(f, 'sdkFloorInitMs'),
  },
  {
    part: 'bundles',
    key: 'pollerInitMs',
    label: 'poller init (slowest)',
    unit: 'ms',
    digits: 0,
    target: '-',
  },
  { part: 'bundles', key: 'ingressKb', label: 'ingress bundle', unit: 'KB', digits: 0, target: '-' },
  { part: 'bundles', key: 'workerKb', label: 'worker bundle (largest)', unit: 'KB', digits: 0, target: '-' },
  {
    part: 'cpu',
    key: 'workerCpuMsPerEvent1',
    label: 'worker CPU per event (batches of 1)',
    unit: 'ms',
    digits: 2,
    target: '<= half of before',
    check: (v, b) => (b === undefined ? undefined : v <= b / 2),
  },
  {
    part: 'cpu',
    key: 'workerCpuMsPerEvent10',
    label: 'worker CPU per event (batches of 10)',
    unit: 'ms',
    digits: 2,
    target: '<= half of before',
    check: (v, b) => (b === undefined ? undefined : v <= b / 2),
  },
  {
    part: 'cost',
    key: 'dynamoCallsPerEvent',
    label: 'DynamoDB requests per event (1 flow)',
    unit: '',
    digits: 2,
    target: '<= 4',
    check: atMost(4),
  },
  {
    part: 'cost',
    key: 'dynamoCallsPerEventTwoFlows',
    label: 'DynamoDB requests per event (2 flows)',
    unit: '',
    digits: 2,
    target: '-',
  },
  {
    part: 'cost',
    key: 'oneFlowUsd',
    label: 'cost per 1M events (1 flow, default)',
    unit: '$',
    digits: 2,
    target: '<= $2.50',
    check: atMost(2.5),
  },
  {
    part: 'cost',
    key: 'oneFlowLeanUsd',
    label: 'cost per 1M events (1 flow, lean profile)',
    unit: '$',
    digits: 2,
    target: '<= $2.50',
    check: atMost(2.5),
  },
  {
    part: 'cost',
    key: 'oneFlowFunctionUrlUsd',
    label: 'cost per 1M events (1 flow, function URL)',
    unit: '$',
    digits: 2,
    target: '-',
  },
  {
    part: 'cost',
    key: 'twoFlowUsd',
    label: 'cost per 1M events (2 flows, default)',
    unit: '$',
    digits: 2,
    target: '-',
  },
  {
    part: 'latency',
    key: 'p50Ms',
    label: 'sandbox webhook -> vendor write p50',
    unit: 'ms',
    digits: 0,
    target: '<= 100 ms',
    check: atMost(100),
  },
  {
    part: 'latency',
    key: 'p99Ms',
    label: 'sandbox webhook -> vendor write p99',
    unit: 'ms',
    digits: 0,
    target: '<= 300 ms',
    check: atMost(300),
  },
  {
    part: 'latency',
    key: 'eventsPerSec1',
    label: 'sandbox events/s, 1 in flight',
    unit: '/s',
    digits: 1,
    target: '-',
  },
  {
    part: 'latency',
    key: 'eventsPerSec8',
    label: 'sandbox events/s, 8 in flight',
    unit: '/s',
    digits: 1,
    target: `> ${N8N_EVENTS_PER_SECOND_AT_8} (n8n)`,
    check: (v) => v > N8N_EVENTS_PER_SECOND_AT_8,
  },
  { part: 'latency', key: 'p99Ms8', label: 'sandbox p99, 8 in flight', unit: 'ms', digits: 0, target: '-' },
  ...scaleMetrics('scale-downtime', 'downtime 5,000 machines / 500 down'),
  ...scaleMetrics('scale-parts', 'parts poll 100,000'),
];

function ratio(f: Figures, key: string): number | undefined {
  const value = num(f, key);
  const bare = num(f, 'bareNodeMs');
  return value === undefined || bare === undefined || bare <= 0 ? undefined : value / bare;
}

function scaleMetrics(part: string, label: string): Metric[] {
  return [
    {
      part,
      key: 'ok',
      label: `${label}: completes`,
      unit: '',
      digits: 0,
      target: 'yes',
      check: atLeast(1),
      derive: (f) => (f.ok === true ? 1 : 0),
    },
    {
      part,
      key: 'largestItemBytes',
      label: `${label}: largest state item`,
      unit: 'KB',
      digits: 1,
      target: '<= 64 KB',
      check: atMost(MAX_STATE_ITEM_BYTES / 1024),
      derive: (f) => {
        const v = num(f, 'largestItemBytes');
        return v === undefined ? undefined : v / 1024;
      },
    },
    {
      part,
      key: 'requestsPerPoll',
      label: `${label}: vendor requests per poll`,
      unit: '',
      digits: 0,
      target: '-',
    },
    { part, key: 'pollMs', label: `${label}: time per poll`, unit: 'ms', digits: 0, target: '-' },
    { part, key: 'peakRssMb', label: `${label}: peak RSS`, unit: 'MB', digits: 0, target: '-' },
  ];
}

const figureOf = (metric: Metric, figures: Figures | undefined): number | undefined =>
  figures === undefined ? undefined : metric.derive ? metric.derive(figures) : num(figures, metric.key);

function show(metric: Metric, value: number | undefined): string {
  if (value === undefined) return '-';
  if (metric.key === 'ok') return value ? 'yes' : 'NO';
  const text = value.toFixed(metric.digits);
  if (metric.unit === '$') return `$${text}`;
  return metric.unit === '' || metric.unit === 'x' ? `${text}${metric.unit}` : `${text} ${metric.unit}`;
}

export interface TableInput {
  current: Record<string, PartResult>;
  baseline?: Record<string, PartResult>;
  baselineLabel?: string;
}

/** The table's rows: metric, target, before (when a baseline ran), now, verdict. */
export function tableRows(input: TableInput): string[][] {
  const rows: string[][] = [];
  for (const metric of METRICS) {
    const current = input.current[metric.part];
    if (!current) continue;
    const now = figureOf(metric, current.figures);
    const before = input.baseline ? figureOf(metric, input.baseline[metric.part]?.figures) : undefined;
    const verdict =
      now === undefined ? (current.error ? 'FAILED' : '-') : metricVerdict(metric.check?.(now, before));
    const row = [metric.label, metric.target];
    if (input.baseline)
      row.push(input.baseline[metric.part]?.error && before === undefined ? 'failed' : show(metric, before));
    row.push(show(metric, now), verdict);
    rows.push(row);
  }
  return rows;
}

const metricVerdict = (ok: boolean | undefined): string => (ok === undefined ? '' : ok ? 'within' : 'MISSED');

/** The table as aligned text (also valid Markdown: pipes and a header rule). */
export function renderTable(input: TableInput): string {
  const header = ['measure', 'target'];
  if (input.baseline) header.push(`before (${input.baselineLabel ?? 'baseline'})`);
  header.push('now', 'verdict');
  const rows = tableRows(input);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i >= 2 && i < header.length - 1 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i >= 2 && i < header.length - 1 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** How many measures missed their target now (the run's exit status stays 0: figures vary by machine). */
export const missed = (input: TableInput): number =>
  tableRows(input).filter((r) => r.at(-1) === 'MISSED').length;
