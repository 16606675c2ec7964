/**
 * What failed, and putting it right: `dlq list|replay`, `parked list|replay|discard`, the two
 * repairs the parked events' checks name (`repair forget-send`, `repair adopt-deepomatic`), and
 * `pause` / `resume`.
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { listDeadLetters, replayDeadLetters } from '../../operator/dlq.ts';
import {
  adoptDeepomaticWorkOrder,
  discardParked,
  forgetSend,
  listParked,
  replayParked,
} from '../../operator/parked.ts';
import { pauseFlow, resumeFlow } from '../../operator/pause.ts';
import { type CliContext, CliError, EXIT, emit, withTarget } from '../context.ts';
import { ago, parseLimit, parseRate, progress, table } from '../output.ts';
import { confirmed } from './confirm.ts';

/** Who is acting, kept in the run log next to what they did. */
export const operatorName = (): string => process.env.MILLWRIGHT_OPERATOR ?? safeUser();
function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'an operator';
  }
}

export function registerFailures(program: Command, ctx: CliContext): void {
  const dlq = program
    .command('dlq')
    .description("a flow's dead-letter queue: events that failed for good, waiting for replay");
  dlq
    .command('list <flow>')
    .description(
      "every message in the flow's dead-letter queue with the reason it failed (nothing is taken off the queue)",
    )
    .option('--limit <n>', 'at most this many', '1000')
    .addHelpText(
      'after',
      '\nExample:\n  npx millwright dlq list machinemetrics-downtime-to-upkeep-work-order\n',
    )
    .action(async (flowId: string, options: { limit: string }, command: Command) => {
      await withTarget(ctx, command, async (target, globals) => {
        // Ages from SQS's own (wall-clock) timestamps.
        const letters = await listDeadLetters(target, flowId, { limit: parseLimit(options.limit) });
        emit(ctx, globals, letters, () =>
          letters.length === 0
            ? `The dead-letter queue of ${flowId} is empty.\n`
            : table(
                [{ header: 'EVENT' }, { header: 'TYPE' }, { header: 'SUBJECT' }, { header: 'AGE' }],
                letters.map((l) => [l.eventId, l.eventType, l.subject ?? '-', l.age ?? '-']),
                ctx.io.columns,
                letters.map((l) => `reason: ${l.reason}`),
              ) +
              `${letters.length} message(s). Replay: npx millwright dlq replay ${flowId} --id <event id> (or --all)\n`,
        );
      });
    });
  dlq
    .command('replay <flow>')
    .description(
      "put dead-lettered events back on the flow's queue (marked as replays in the run log); safe to repeat: the flow's claims make a second replay do nothing",
    )
    .option('--id <id...>', 'event ids (or DLQ message ids) to replay')
    .option('--all', 'replay every message')
    .option('--rate <n/s>', 'sends per second', '10')
    .option('--dry-run', 'show what would be replayed; change nothing')
    .option('-y, --yes', 'do not ask for confirmation')
    .addHelpText(
      'after',
      '\nExamples:\n  npx millwright dlq replay machinemetrics-downtime-to-upkeep-work-order --all --dry-run\n  npx millwright dlq replay machinemetrics-downtime-to-upkeep-work-order --id <event id> --yes\n',
    )
    .action(
      async (
        flowId: string,
        options: { id?: string[]; all?: boolean; rate: string; dryRun?: boolean; yes?: boolean },
        command: Command,
      ) => {
        const ratePerSecond = parseRate(options.rate);
        if (!options.id && !options.all)
          throw new CliError('name the events to replay with --id <id ...>, or pass --all', EXIT.usage);
        if (options.id && options.all) throw new CliError('--id and --all: choose one', EXIT.usage);
        await withTarget(ctx, command, async (target, globals) => {
          if (!options.dryRun) {
            await confirmed(
              ctx,
              options.yes,
              `Replay ${options.all ? 'every message' : `${options.id?.length} event(s)`} from the dead-letter queue of ${flowId} at ${ratePerSecond}/s?`,
            );
          }
          let bar: ReturnType<typeof progress> | undefined;
          // Stopped however the run ends: a bar left running keeps the terminal's cursor hidden.
          const result = await replayDeadLetters(target, flowId, {
            ...(options.id ? { ids: options.id } : {}),
            ...(options.all ? { all: true } : {}),
            ratePerSecond,
            ...(options.dryRun ? { dryRun: true } : {}),
            by: operatorName(),
            now: ctx.now,
            onProgress: (done, total) => {
              bar ??= progress(ctx.io, 'replay', total);
              bar.update(done, total);
            },
          }).finally(() => bar?.stop());
          emit(ctx, globals, result, () => {
            const rows = table(
              [{ header: 'EVENT' }, { header: 'TYPE' }],
              result.events.map((e) => [e.eventId, e.eventType]),
              ctx.io.columns,
              result.events.map((e) => `reason: ${e.reason}`),
            );
            // --all on an empty queue: say so, rather than "Replayed 0 of 0 ...; follow them".
            if (options.all && result.selected === 0) {
              return `The dead-letter queue of ${flowId} is empty: nothing ${result.dryRun ? 'would be' : 'was'} replayed.\n`;
            }
            const head = result.dryRun
              ? `Dry run: would replay ${result.selected} event(s) to ${flowId}; nothing was changed.\n`
              : `Replayed ${result.replayed} of ${result.selected} event(s) to ${flowId}; follow them with: npx millwright runs --flow ${flowId} --since 10m\n`;
            const missing =
              result.notFound.length > 0
                ? `Not in the dead-letter queue: ${result.notFound.join(', ')}\n`
                : '';
            const kept =
              result.notDeleted.length > 0
                ? `Replayed but still in the DLQ (a later replay is a harmless duplicate): ${result.notDeleted.join(', ')}\n`
                : '';
            return `${head}${result.events.length > 0 ? rows : ''}${missing}${kept}`;
          });
          if (result.notFound.length > 0 && result.selected === 0) ctx.result.code = EXIT.notFound;
        });
      },
    );

  const parked = program
    .command('parked')
    .description(
      'events parked as "needs attention": kept with their body until an operator replays or discards them',
    );
  parked
    .command('list [flow]')
    .description('parked events (every flow when none is named), with the reason and what to check')
    .addHelpText('after', '\nExample:\n  npx millwright parked list\n')
    .action(async (flowId: string | undefined, _options: unknown, command: Command) => {
      await withTarget(ctx, command, async (target, globals) => {
        const now = ctx.now();
        const items = (await listParked(target, flowId)).map(({ body: _b, ...rest }) => rest);
        emit(ctx, globals, items, () =>
          items.length === 0
            ? 'Nothing is parked.\n'
            : items
                .map(
                  (p) =>
                    `${p.flowId}  ${p.eventId}  (${p.eventType}, parked ${ago(p.at, now)}, id ${p.id})\n  why:   ${p.reason}\n  check: ${p.check}\n`,
                )
                .join('\n') +
              `\nThen: npx millwright parked replay <flow> --id <event id>   or   npx millwright parked discard <flow> --id <event id> --reason "..."\n`,
        );
      });
    });
  // replay and discard: the same choice of parked events, confirmation and report.
  for (const verb of ['replay', 'discard'] as const) {
    const replay = verb === 'replay';
    const sub = parked
      .command(`${verb} <flow>`)
      .description(
        replay
          ? "put parked events back on the flow's queue (do what their check says first)"
          : 'drop parked events for good, with the reason (kept in the run log)',
      )
      .requiredOption('--id <id...>', 'event ids or parked ids');
    if (replay)
      sub.option(
        '--past-retention',
        'replay events parked longer ago than their claims and order marks are kept (may act again; check the vendor first)',
      );
    if (!replay)
      sub.requiredOption('--reason <text>', 'why (e.g. "work order found in UpKeep, nothing missing")');
    sub
      .option('--dry-run', `show what would be ${replay ? 'replayed' : 'discarded'}; change nothing`)
      .option('-y, --yes', 'do not ask for confirmation')
      .addHelpText(
        'after',
        replay
          ? '\nExample:\n  npx millwright parked replay upkeep-work-order-to-deepomatic-validation --id <event id> --yes\n'
          : '\nExample:\n  npx millwright parked discard machinemetrics-downtime-to-upkeep-work-order --id <event id> --reason "note found in UpKeep" --yes\n',
      )
      .action(
        async (
          flowId: string,
          options: {
            id: string[];
            reason?: string;
            dryRun?: boolean;
            yes?: boolean;
            pastRetention?: boolean;
          },
          command: Command,
        ) => {
          await withTarget(ctx, command, async (target, globals) => {
            if (!options.dryRun) {
              await confirmed(
                ctx,
                options.yes,
                `${replay ? 'Replay' : 'Discard'} ${options.id.length} parked event(s) of ${flowId}${replay ? '' : ' for good'}?`,
              );
            }
            const common = { ...(options.dryRun ? { dryRun: true } : {}), by: operatorName(), now: ctx.now };
            const result = replay
              ? await replayParked(target, flowId, options.id, {
                  ...common,
                  ...(options.pastRetention ? { pastRetention: true } : {}),
                })
              : await discardParked(target, flowId, options.id, { ...common, reason: options.reason ?? '' });
            const done = replay ? 'Replayed' : 'Discarded';
            emit(
              ctx,
              globals,
              result,
              () =>
                `${result.dryRun ? `Dry run: would ${verb}` : done} ${result.dryRun ? result.selected : result.done} parked event(s) of ${flowId}.${result.notFound.length > 0 ? ` Not parked: ${result.notFound.join(', ')}.` : ''}${result.pastRetention.length > 0 ? ` Past the retention of their claims and order marks: ${result.pastRetention.join(', ')}${result.dryRun ? ' (a replay needs --past-retention)' : ''}.` : ''}\n`,
            );
            if (result.selected === 0) ctx.result.code = EXIT.notFound;
          });
        },
      );
  }

  const repair = program
    .command('repair')
    .description("the repairs a parked event's check may ask for, before replaying it");
  repair
    .command('forget-send <key>')
    .description(
      'clear an unconfirmed send (the key in the check text) so the replayed event sends again; only after checking the vendor has no such record',
    )
    .option('-y, --yes', 'do not ask for confirmation')
    .addHelpText(
      'after',
      '\nExample (the key is quoted in the parked event\'s check, see: npx millwright parked list):\n  npx millwright repair forget-send "<key from the check>" --yes\n',
    )
    .action(async (key: string, options: { yes?: boolean }, command: Command) => {
      await withTarget(ctx, command, async (target, globals) => {
        await confirmed(
          ctx,
          options.yes,
          `Forget the unconfirmed send ${key}? The next replay sends it again.`,
        );
        const { forgotten } = await forgetSend(target, key);
        if (!forgotten) {
          throw new CliError(
            `no unconfirmed send ${key} (already forgotten or confirmed, or a different key): copy the key from the check in: npx millwright parked list`,
            EXIT.notFound,
          );
        }
        emit(
          ctx,
          globals,
          { forgotten: key },
          () => `Forgot the unconfirmed send ${key}; now replay the parked event.\n`,
        );
      });
    });
  repair
    .command('adopt-deepomatic <flow> <upkeep-work-order-id> <deepomatic-id>')
    .description(
      'record that a Deepomatic work order found by hand belongs to an UpKeep work order, so the replay does not create another',
    )
    .option('-y, --yes', 'do not ask for confirmation')
    .addHelpText(
      'after',
      '\nExample:\n  npx millwright repair adopt-deepomatic upkeep-work-order-to-deepomatic-validation WoMill0001 3f2c9a1e-0000-4000-8000-000000000001 --yes\n',
    )
    .action(
      async (
        flowId: string,
        workOrderId: string,
        deepomaticId: string,
        options: { yes?: boolean },
        command: Command,
      ) => {
        await withTarget(ctx, command, async (target, globals) => {
          await confirmed(
            ctx,
            options.yes,
            `Adopt Deepomatic work order ${deepomaticId} for UpKeep work order ${workOrderId}?`,
          );
          await adoptDeepomaticWorkOrder(target, flowId, workOrderId, deepomaticId);
          emit(
            ctx,
            globals,
            { flowId, workOrderId, deepomaticId },
            () =>
              `Adopted ${deepomaticId} for UpKeep work order ${workOrderId}; now replay the parked event.\n`,
          );
        });
      },
    );

  for (const paused of [true, false]) {
    program
      .command(paused ? 'pause <flow>' : 'resume <flow>')
      .description(
        paused
          ? 'stop a flow taking events without losing any: its queue keeps them (webhooks are still accepted) and its pollers stop'
          : 'start a paused flow again: its worker drains what waited, in order per subject, and its pollers catch up from their watermarks',
      )
      .addHelpText(
        'after',
        `\nExample:\n  npx millwright ${paused ? 'pause' : 'resume'} upkeep-part-low-to-mobility-work-stock\n`,
      )
      .action(async (flowId: string, _options: unknown, command: Command) => {
        await withTarget(ctx, command, async (target, globals) => {
          const result = await (paused ? pauseFlow : resumeFlow)(target, flowId, {
            by: operatorName(),
            now: ctx.now,
          });
          emit(
            ctx,
            globals,
            result,
            () =>
              `${[
                `${flowId}: ${paused ? 'paused' : 'resumed'} (${result.queued} message(s) on its queue${paused ? ', kept until resume' : ''})`,
                ...result.lines.map((l) => `  ${l}`),
              ].join('\n')}\n`,
          );
        });
      });
  }
}
