/** `millwright runs` and `millwright show <event-id>`. */
import type { Command } from 'commander';
import { BREAKER_RUN_OUTCOMES } from '../../functions/core/breaker.ts';
import { closestKey } from '../../functions/core/schema.ts';
import type { RunLogEntry } from '../../functions/core/state.ts';
import { EVENT_OUTCOMES } from '../../functions/runtime/metrics.ts';
import { runs, show } from '../../operator/runs.ts';
import { type CliContext, CliError, EXIT, emit, withTarget } from '../context.ts';
import { ago, InputError, parseLimit, parseTime, table } from '../output.ts';

/** What the run log records: the worker's outcomes, the operator's own and the circuit breakers'. */
export const RUN_OUTCOMES: readonly string[] = [
  ...EVENT_OUTCOMES,
  'replayed',
  'discarded',
  ...BREAKER_RUN_OUTCOMES,
];

/** A mistyped outcome matches nothing: refuse it, or `No runs match.` would read as all clear. */
function checkOutcomes(outcomes: readonly string[]): readonly string[] {
  for (const outcome of outcomes) {
    if (RUN_OUTCOMES.includes(outcome)) continue;
    const suggestion = closestKey(outcome, RUN_OUTCOMES);
    throw new InputError(
      `--outcome: unknown outcome "${outcome}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; outcomes: ${RUN_OUTCOMES.join(', ')}`,
    );
  }
  return outcomes;
}

const effectsText = (e: RunLogEntry) =>
  Object.entries(e.effects ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

export function registerRuns(program: Command, ctx: CliContext): void {
  program
    .command('runs')
    .description('the run history, newest first: every event each flow handled, with its outcome and effects')
    .option('--flow <flow>', 'one flow')
    .option(
      '--subject <id>',
      'everything about one machine, work order, part or task (one query, across flows)',
    )
    .option('--outcome <outcome...>', `only these outcomes (${RUN_OUTCOMES.join(', ')})`)
    .option('--since <time>', 'from this long ago (30m, 2h, 7d) or this ISO time')
    .option('--until <time>', 'up to this long ago or this ISO time')
    .option('--limit <n>', 'at most this many entries', '50')
    .addHelpText(
      'after',
      '\nExamples:\n  npx millwright runs --since 2h\n  npx millwright runs --subject 0e871f8e-a48a-4a7b-ba33-a02cba7d4f2c\n  npx millwright runs --flow machinemetrics-downtime-to-upkeep-work-order --outcome failed dead-lettered --json\n',
    )
    .action(
      async (
        options: {
          flow?: string;
          subject?: string;
          outcome?: string[];
          since?: string;
          until?: string;
          limit: string;
        },
        command: Command,
      ) => {
        const now = ctx.now();
        const query = {
          ...(options.flow ? { flowId: options.flow } : {}),
          ...(options.subject ? { subject: options.subject } : {}),
          ...(options.outcome ? { outcomes: checkOutcomes(options.outcome) } : {}),
          ...(options.since ? { since: parseTime(options.since, now, '--since') } : {}),
          ...(options.until ? { until: parseTime(options.until, now, '--until') } : {}),
          limit: parseLimit(options.limit),
        };
        if (query.since && query.since > now) {
          throw new InputError(
            `--since (${query.since.toISOString()}) is in the future (now ${now.toISOString()}): nothing can match`,
          );
        }
        if (query.since && query.until && query.until < query.since) {
          throw new InputError(
            `--until (${query.until.toISOString()}) is before --since (${query.since.toISOString()}): nothing can match`,
          );
        }
        await withTarget(ctx, command, async (target, globals) => {
          const result = await runs(target, query);
          emit(ctx, globals, result, () => {
            if (result.entries.length === 0) return 'No runs match.\n';
            // With --subject every row has the same subject: no column for it. The message goes below.
            const subject = !query.subject;
            const body = table(
              [
                { header: 'WHEN' },
                { header: 'FLOW' },
                { header: 'OUTCOME' },
                { header: 'EVENT' },
                ...(subject ? [{ header: 'SUBJECT' }] : []),
                { header: 'EFFECTS' },
              ],
              result.entries.map((e) => [
                ago(e.at, now),
                e.flowId,
                e.via ? `${e.outcome} (${e.via})` : e.outcome,
                e.eventId,
                ...(subject ? [e.subject ?? '-'] : []),
                effectsText(e) || '-',
              ]),
              ctx.io.columns,
              result.entries.map((e) => e.message),
            );
            const more = result.more
              ? `More entries match: raise --limit (now ${query.limit}) or narrow --since.\n`
              : '';
            return `${body}${result.entries.length} entr${result.entries.length === 1 ? 'y' : 'ies'} (${result.cost.requests} DynamoDB quer${result.cost.requests === 1 ? 'y' : 'ies'})\n${more}`;
          });
        });
      },
    );

  program
    .command('show <event-id>')
    .description(
      'one event: its body, every attempt with its outcome or error, the vendor records it created or changed',
    )
    .addHelpText(
      'after',
      '\nExample:\n  npx millwright show mm:downtime:0e871f8e-a48a-4a7b-ba33-a02cba7d4f2c/2026-12-06T08:00:00.000Z:started\n',
    )
    .action(async (eventId: string, _options: unknown, command: Command) => {
      await withTarget(ctx, command, async (target, globals) => {
        const story = await show(target, eventId);
        if (!story) {
          throw new CliError(
            `no run-log entry for event ${eventId} (kept ${target.deployment.runtime.runLogRetentionDays} days); find ids with: npx millwright runs --since 1d`,
            EXIT.notFound,
          );
        }
        const now = ctx.now();
        emit(ctx, globals, story, () =>
          [
            `Event ${story.eventId}\n`,
            `Flows: ${story.flows.join(', ')}\n`,
            `Effects: ${
              Object.entries(story.effects)
                .map(([k, v]) => `${k}=${v}`)
                .join(', ') || 'none'
            }\n`,
            '\nAttempts (oldest first)\n',
            table(
              [{ header: 'WHEN' }, { header: 'AT' }, { header: 'FLOW' }, { header: 'OUTCOME' }],
              story.attempts.map((e) => [
                ago(e.at, now),
                e.at,
                e.flowId,
                e.via ? `${e.outcome} (${e.via})` : e.outcome,
              ]),
              ctx.io.columns,
              // The whole message of each attempt (its error), below it.
              story.attempts.map((e) => e.message),
            ),
            story.event !== undefined
              ? `\nEvent (from the ${story.eventFrom}):\n${JSON.stringify(story.event, null, 2)}\n`
              : '\nThe event body is no longer kept (only its run-log entries).\n',
          ].join(''),
        );
      });
    });
}
