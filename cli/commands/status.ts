/** `millwright status`: one row per flow, then what needs attention, then the vendor buckets. */
import type { Command } from 'commander';
import { describeBreaker } from '../../functions/core/breaker.ts';
import { type StatusReport, status } from '../../operator/status.ts';
import { type CliContext, EXIT, emit, withTarget } from '../context.ts';
import { ago, duration, table } from '../output.ts';

/**
 * `now` is the run log's clock (the sandbox's, in the demo); SQS timestamps and the rate limiter's
 * buckets are wall-clock time, so their ages are taken from `wallNow`.
 */
function render(report: StatusReport, now: Date, width: number, wallNow = new Date()): string {
  const rows = report.flows.map((f) => [
    f.flowId,
    f.paused ? 'PAUSED' : 'running',
    String(f.queue.visible + f.queue.delayed),
    String(f.queue.inFlight),
    String(f.deadLetters.depth),
    f.deadLetters.oldestSentAt
      ? `${f.deadLetters.oldestExact === false ? '>=' : ''}${duration((wallNow.getTime() - Date.parse(f.deadLetters.oldestSentAt)) / 1000)}`
      : '-',
    String(f.parked),
    Object.entries(f.lastHour)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([o, n]) => `${o} ${n}`)
      .join(', ') + (f.lastHourTruncated ? ' (10,000+ read)' : '') || '-',
  ]);
  const lines = [
    `${report.target}, ${report.at}\n\n`,
    table(
      [
        { header: 'FLOW' },
        { header: 'STATE' },
        { header: 'QUEUED', right: true },
        { header: 'IN FLIGHT', right: true },
        { header: 'DLQ', right: true },
        { header: 'DLQ OLDEST', right: true },
        { header: 'PARKED', right: true },
        { header: 'LAST HOUR', flexible: true },
      ],
      rows,
      width,
    ),
  ];
  const polls = report.flows.flatMap((f) =>
    f.polls.map((p) => [
      f.flowId,
      p.sourceId,
      p.lastRun ? ago(p.lastRun.at, now) : 'never',
      p.lastRun ? (p.lastRun.error ? `FAILED: ${p.lastRun.error}` : p.lastRun.summary) : '-',
      p.watermark ?? '-',
    ]),
  );
  if (polls.length > 0) {
    lines.push(
      '\nPollers\n',
      table(
        [
          { header: 'FLOW' },
          { header: 'SOURCE' },
          { header: 'LAST RUN' },
          { header: 'WATERMARK', flexible: true },
        ],
        polls.map((p) => [p[0], p[1], p[2], p[4]] as string[]),
        width,
        polls.map((p) => p[3]),
      ),
    );
  }
  const errors = report.flows.filter((f) => f.lastError);
  if (errors.length > 0) {
    lines.push(
      '\nLast error per flow\n',
      table(
        [{ header: 'FLOW' }, { header: 'WHEN' }, { header: 'OUTCOME' }, { header: 'EVENT' }],
        errors.map((f) => {
          const e = f.lastError as NonNullable<typeof f.lastError>;
          return [f.flowId, ago(e.at, now), e.outcome, e.eventId];
        }),
        width,
        errors.map((f) => f.lastError?.message),
      ),
    );
  }
  const paused = report.flows.filter((f) => f.paused || f.platform);
  for (const f of paused) {
    lines.push(
      `\n${f.flowId}: ${f.paused ? `paused ${ago(f.control?.at, now)}${f.control?.by ? ` by ${f.control.by}` : ''}` : 'running'}${f.platform ? ` (${f.platform})` : ''}`,
    );
  }
  if (paused.length > 0) lines.push('\n');
  if (report.rateLimits.length > 0) {
    lines.push(
      '\nRate-limited vendor accounts\n',
      table(
        [
          { header: 'ACCOUNT' },
          { header: 'TOKENS', right: true },
          { header: 'UPDATED' },
          { header: 'PAUSED UNTIL' },
        ],
        report.rateLimits.map((r) => [
          r.key,
          Number.isNaN(r.tokens) ? 'full (unused)' : String(r.tokens),
          ago(r.updatedAt, wallNow),
          r.pausedUntil ?? '-',
        ]),
        width,
      ),
    );
  }
  if (report.breakers.length > 0) {
    lines.push(
      '\nCircuit breakers (per vendor account)\n',
      table(
        [{ header: 'ACCOUNT' }, { header: 'BREAKER', flexible: true }],
        report.breakers.map((b) => [b.key, describeBreaker(b)]),
        width,
      ),
    );
  }
  return lines.join('');
}

/** Something an operator should look at. */
export const needsAttention = (report: StatusReport): string[] =>
  report.flows
    .flatMap((f) => [
      ...(f.deadLetters.depth > 0 ? [`${f.flowId}: ${f.deadLetters.depth} in the dead-letter queue`] : []),
      ...(f.parked > 0 ? [`${f.flowId}: ${f.parked} parked (needs attention)`] : []),
      ...f.polls.filter((p) => p.lastRun?.error).map((p) => `${f.flowId}/${p.sourceId}: last poll failed`),
    ])
    .concat(
      report.breakers
        .filter((b) => b.status !== 'closed')
        .map((b) => `${b.key}: circuit breaker ${describeBreaker(b)}`),
    );

export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description(
      "per flow: running or paused, queue, in flight, DLQ depth and oldest age, parked, last polls, last error, runs in the last hour; vendor rate-limit buckets; each vendor account's circuit breaker",
    )
    .option('--flow <flow>', 'only this flow')
    .option(
      '--check',
      `exit ${EXIT.attention} when anything needs attention (dead letters, parked events, a failing poller, an open circuit breaker)`,
    )
    .addHelpText(
      'after',
      '\nExamples:\n  npx millwright status\n  npx millwright --stack Millwright --region eu-west-1 status --check --json\n',
    )
    .action(async (options: { flow?: string; check?: boolean }, command: Command) => {
      const code = await withTarget(ctx, command, async (target, globals) => {
        const report = await status(target, {
          now: ctx.now(),
          ...(options.flow ? { flowId: options.flow } : {}),
        });
        const attention = needsAttention(report);
        emit(ctx, globals, { ...report, attention }, () => {
          const text = render(report, ctx.now(), ctx.io.columns);
          // Warnings are said every time but do not fail --check: they are about the config, not the run.
          const warnings =
            report.warnings.length > 0
              ? `\nWarnings (the deployed config):\n${report.warnings.map((w) => `  - ${w}`).join('\n')}\n`
              : '';
          return attention.length > 0
            ? `${text}${warnings}\nNeeds attention:\n${attention.map((a) => `  - ${a}`).join('\n')}\n`
            : `${text}${warnings}`;
        });
        return options.check && attention.length > 0 ? EXIT.attention : EXIT.ok;
      });
      ctx.result.code = code;
    });
}
