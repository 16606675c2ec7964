/**
 * The operator's side, with the `millwright` CLI itself (the same commands an operator types, run
 * in this process against the demo's sandbox): status shows the event UpKeep's bad answer sent to
 * the dead-letter queue; `dlq list` and `dlq replay` bring it back and it completes; a backfill over
 * the window already handled creates nothing; `runs --subject` tells the machine's whole story.
 */
import { runCli } from '../../cli/main.ts';
import { bufferIo } from '../../cli/output.ts';
import { FLOW_ID } from '../../functions/flows/machinemetrics-downtime-to-upkeep-work-order.ts';
import { sandboxTarget } from '../../operator/sandbox-target.ts';
import { MACHINES } from '../control.ts';
import type { DemoContext } from './context.ts';

/** `millwright <argv>` on the demo's sandbox: its exit code and output (printed, indented). */
async function millwright(ctx: DemoContext, argv: string[], show = true) {
  const io = bufferIo(150);
  const code = await runCli(argv, {
    io,
    now: () => ctx.sandbox.clock.now(),
    openTarget: async () => sandboxTarget(ctx.sandbox, 'demo sandbox'),
  });
  const out = io.stdout.join('');
  if (show) {
    ctx.out(`  $ npx millwright ${argv.join(' ')}`);
    for (const line of out.trimEnd().split('\n')) ctx.out(`    ${line}`);
  }
  return { code, out, err: io.stderr.join('') };
}

const parse = <T>(text: string): T | undefined => {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
};

export async function operatorCli(ctx: DemoContext): Promise<void> {
  const { check, sandbox } = ctx;
  ctx.section('Operating Millwright with the millwright CLI');

  ctx.step('status: what waits, what failed, how the pollers last ran');
  const status = await millwright(ctx, ['status', '--flow', FLOW_ID]);
  const report = parse<{ flows: { deadLetters: { depth: number } }[] }>(
    (await millwright(ctx, ['--json', 'status', '--flow', FLOW_ID], false)).out,
  );
  check(
    'status shows the dead-lettered event',
    status.code === 0 && report?.flows[0]?.deadLetters.depth === 1,
    status.out,
  );

  ctx.step('dlq list and dlq replay: the event UpKeep answered without an id, now that UpKeep is fixed');
  const list = await millwright(ctx, ['dlq', 'list', FLOW_ID]);
  check('dlq list gives the reason', list.out.includes('result.id'), list.out);
  const before = (await ctx.control.workOrdersFor('AssetLathe2')).length;
  const replay = await millwright(ctx, ['dlq', 'replay', FLOW_ID, '--all', '--rate', '20/s', '--yes']);
  await sandbox.settle();
  const after = (await ctx.control.workOrdersFor('AssetLathe2')).length;
  check(
    'the replayed event completed: one work order for MACHINE 2',
    replay.code === 0 && after === before + 1,
    `${before} -> ${after} work orders`,
  );
  const again = await millwright(ctx, ['--json', 'dlq', 'list', FLOW_ID], false);
  check('the dead-letter queue is empty', parse<unknown[]>(again.out)?.length === 0, again.out);

  ctx.step('backfill: re-read the last two hours of MachineMetrics downtime');
  const backfill = await millwright(ctx, [
    'backfill',
    FLOW_ID,
    '--from',
    '2h',
    '--to',
    'now',
    '--rate',
    '100',
    '--yes',
  ]);
  await sandbox.settle();
  const afterBackfill = (await ctx.control.workOrdersFor('AssetLathe2')).length;
  const runs = parse<{ entries: { via?: string; outcome: string }[] }>(
    (await millwright(ctx, ['--json', 'runs', '--flow', FLOW_ID, '--since', '5m', '--limit', '200'], false))
      .out,
  );
  const backfilled = runs?.entries.filter((e) => e.via === 'backfill') ?? [];
  check(
    'the backfill found the handled window again and created nothing',
    backfill.code === 0 &&
      backfilled.length > 0 &&
      backfilled.every((e) => e.outcome !== 'done') &&
      afterBackfill === after,
    `${backfilled.map((e) => e.outcome).join(', ')}; ${after} -> ${afterBackfill} work orders`,
  );

  ctx.step("runs --subject: MACHINE 2's whole story, across flows, in one query");
  const story = await millwright(ctx, ['runs', '--subject', MACHINES.two, '--limit', '12']);
  check(
    'the story has the dead letter, the replay and the work order',
    /dead-lettered/.test(story.out) && /replay/.test(story.out) && /workOrderId=/.test(story.out),
    story.out,
  );
}
