/**
 * Putting events through flows on purpose: `backfill` (re-read a past window of a poll source) and
 * `test-event` (run one event, for real or as a dry run), with `examples` to find test events.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { backfillFlow, checkBackfillWindow, listBackfillSupport } from '../../operator/backfill.ts';
import { listExamples } from '../../operator/examples.ts';
import { testEvent } from '../../operator/test-event.ts';
import { type CliContext, CliError, EXIT, emit, withTarget } from '../context.ts';
import { parseRate, parseTime, progress, table } from '../output.ts';
import { confirmed } from './confirm.ts';

export function registerFlows(program: Command, ctx: CliContext): void {
  program
    .command('backfill [flow]')
    .description(
      "re-read a past window of a flow's poll source and enqueue what it finds, without moving the live watermark; the flow's claims absorb what was already done",
    )
    .option('--from <time>', 'window start: a duration ago (6h, 2d) or an ISO time')
    .option('--to <time>', 'window end (default now)', 'now')
    .option('--source <id>', 'the poll source, when the flow has several')
    .option('--rate <n/s>', 'events enqueued per second', '10')
    .option(
      '--lookback <minutes>',
      'how far before --from a source that rebuilds its state reads (MachineMetrics: 720)',
    )
    .option('--force', 'allow a window longer than 31 days')
    .option(
      '--past-retention',
      "allow a window older than the flow's claims are kept (76 days by default): its events may act again",
    )
    .option('--dry-run', 'read the vendor and count; enqueue nothing')
    .option('--list', 'say which flows and poll sources can backfill, and why the others cannot')
    .option('-y, --yes', 'do not ask for confirmation')
    .addHelpText(
      'after',
      `\nExamples:\n  npx millwright backfill --list\n  npx millwright backfill machinemetrics-downtime-to-upkeep-work-order --from 2026-12-05T06:00:00Z --to 2026-12-05T14:00:00Z --dry-run\n  npx millwright backfill machinemetrics-downtime-to-upkeep-work-order --from 6h --yes\n\nWhich poll sources can backfill, and why the others cannot: npx millwright backfill --list\n`,
    )
    .action(
      async (
        flowId: string | undefined,
        options: {
          from?: string;
          to: string;
          source?: string;
          rate: string;
          lookback?: string;
          force?: boolean;
          pastRetention?: boolean;
          dryRun?: boolean;
          list?: boolean;
          yes?: boolean;
        },
        command: Command,
      ) => {
        await withTarget(ctx, command, async (target, globals) => {
          if (options.list || !flowId) {
            const support = listBackfillSupport(target);
            emit(ctx, globals, support, () =>
              table(
                [{ header: 'FLOW' }, { header: 'SOURCE' }, { header: 'BACKFILL' }],
                support.map((s) => [s.flowId, s.sourceId ?? '(webhooks only)', s.supported ? 'yes' : 'no']),
                ctx.io.columns,
                support.map((s) => s.note),
              ),
            );
            if (!options.list)
              throw new CliError('name the flow to backfill (the table above says which can)', EXIT.usage);
            return;
          }
          if (!options.from)
            throw new CliError(
              '--from is required: the start of the window to re-read (e.g. --from 6h)',
              EXIT.usage,
            );
          const now = ctx.now();
          const from = parseTime(options.from, now, '--from');
          const to = parseTime(options.to, now, '--to');
          const ratePerSecond = parseRate(options.rate);
          const lookbackMinutes = options.lookback === undefined ? undefined : Number(options.lookback);
          if (lookbackMinutes !== undefined && !(Number.isInteger(lookbackMinutes) && lookbackMinutes >= 0)) {
            throw new CliError(
              `--lookback: "${options.lookback}" is not a whole number of minutes`,
              EXIT.usage,
            );
          }
          // Checked before asking: a reversed or future window is refused, not confirmed first.
          checkBackfillWindow({ from, to, ratePerSecond, ...(options.force ? { force: true } : {}) }, now);
          if (!options.dryRun) {
            await confirmed(
              ctx,
              options.yes,
              `Backfill ${flowId} from ${from.toISOString()} to ${to.toISOString()} (events enqueued at ${ratePerSecond}/s)?`,
            );
          }
          let bar: ReturnType<typeof progress> | undefined;
          // Stopped however the run ends: a bar left running keeps the terminal's cursor hidden.
          const result = await backfillFlow(target, flowId, {
            from,
            to,
            ...(options.source ? { sourceId: options.source } : {}),
            ratePerSecond,
            ...(options.dryRun ? { dryRun: true } : {}),
            ...(options.force ? { force: true } : {}),
            ...(options.pastRetention ? { pastRetention: true } : {}),
            ...(lookbackMinutes !== undefined ? { lookbackMinutes } : {}),
            now: ctx.now,
            onProgress: (done, total) => {
              bar ??= progress(ctx.io, 'backfill', total);
              bar.update(done, total);
            },
          }).finally(() => bar?.stop());
          emit(
            ctx,
            globals,
            result,
            () =>
              `${[
                `${result.dryRun ? 'Dry run: found' : 'Backfilled'} ${flowId} (${result.sourceId}) from ${result.from} to ${result.to}: ${result.events} event(s) found, ${result.enqueued} enqueued, ${result.skipped} record(s) skipped.`,
                ...result.summaries.map((s) => `  ${s}`),
                ...(result.note ? [`Note: ${result.note}`] : []),
                ...(result.refusedPastRetention
                  ? [`Refused without --dry-run: ${result.refusedPastRetention}`]
                  : []),
                ...(result.paused
                  ? [`The flow is paused: what was enqueued waits until: npx millwright resume ${flowId}`]
                  : []),
                ...(result.enqueued > 0
                  ? [`Follow them: npx millwright runs --flow ${flowId} --since 10m`]
                  : []),
              ].join('\n')}\n`,
          );
        });
      },
    );

  program
    .command('examples [flow]')
    .description(
      'the example events each connector ships, for test-event (those a flow handles, when one is named)',
    )
    .addHelpText(
      'after',
      '\nExample:\n  npx millwright examples machinemetrics-downtime-to-upkeep-work-order\n',
    )
    .action((flowId: string | undefined, _options: unknown, command: Command) => {
      const examples = listExamples(flowId);
      const globals = command.optsWithGlobals() as { json?: boolean };
      emit(ctx, globals, examples, () =>
        table(
          [
            { header: 'NAME' },
            { header: 'CONNECTOR' },
            { header: 'TYPE' },
            { header: 'DESCRIPTION', flexible: true },
          ],
          examples.map((e) => [e.name, e.connector, e.event.type, e.description]),
          ctx.io.columns,
        ),
      );
    });

  program
    .command('test-event <flow>')
    .description(
      'run one event through a flow and print what it did; with --dry-run, vendor writes are recorded and printed, not sent (reads still go to the vendors) and nothing is kept in the state table',
    )
    .option('--file <path>', 'the event as JSON (a flow event: id, type, source, occurredAt, subject, data)')
    .option('--example <name>', "one of the connectors' example events (npx millwright examples <flow>)")
    .option('--dry-run', 'record vendor writes instead of sending them; keep no state')
    .option('--keep-id', "run under the event's own id (its real claims apply) instead of a fresh test id")
    .option('-y, --yes', 'do not ask for confirmation (a run without --dry-run really writes to the vendors)')
    .addHelpText(
      'after',
      '\nExamples:\n  npx millwright test-event machinemetrics-downtime-to-upkeep-work-order --example downtime-started --dry-run\n  npx millwright test-event upkeep-work-order-to-deepomatic-validation --file event.json --yes\n',
    )
    .action(
      async (
        flowId: string,
        options: { file?: string; example?: string; dryRun?: boolean; keepId?: boolean; yes?: boolean },
        command: Command,
      ) => {
        if (!options.file === !options.example)
          throw new CliError(
            'give the event with --file <path> or --example <name> (one of them)',
            EXIT.usage,
          );
        let event: unknown;
        if (options.file) {
          try {
            event = JSON.parse(readFileSync(options.file, 'utf8'));
          } catch (error) {
            throw new CliError(`--file ${options.file}: ${(error as Error).message}`, EXIT.usage);
          }
        }
        await withTarget(ctx, command, async (target, globals) => {
          if (!options.dryRun) {
            await confirmed(
              ctx,
              options.yes,
              `Run this event through ${flowId} for real (it writes to ${target.kind === 'sandbox' ? 'the simulators' : 'your vendor accounts'})?`,
            );
          }
          const result = await testEvent(target, flowId, {
            ...(event !== undefined ? { event } : {}),
            ...(options.example ? { exampleName: options.example } : {}),
            ...(options.dryRun ? { dryRun: true } : {}),
            ...(options.keepId ? { keepId: true } : {}),
          });
          emit(ctx, globals, result, () => {
            const writes = result.writes.map((w) =>
              w.kind === 'vendor'
                ? `  ${w.vendor} ${w.method} ${w.url}${w.body !== undefined ? `\n    ${JSON.stringify(w.body)}` : ''}`
                : `  state ${w.operation} ${w.key}`,
            );
            return `${[
              `${result.dryRun ? 'Dry run of' : 'Ran'} ${result.event.type} ${result.event.id}${result.originalId ? ` (a fresh id for ${result.originalId})` : ''} through ${flowId}`,
              `Outcome: ${result.result.outcome}: ${result.result.message}`,
              ...('effects' in result.result && result.result.effects
                ? [
                    `Effects: ${Object.entries(result.result.effects)
                      .map(([k, v]) => `${k}=${v}`)
                      .join(', ')}`,
                  ]
                : []),
              ...(result.dryRun
                ? [writes.length > 0 ? 'Writes recorded, not sent:' : 'No writes.', ...writes]
                : []),
            ].join('\n')}\n`;
          });
          if (
            result.result.outcome === 'failed' ||
            result.result.outcome === 'dead-lettered' ||
            result.result.outcome === 'needs-attention'
          ) {
            ctx.result.code = EXIT.failed;
          }
        });
      },
    );
}
