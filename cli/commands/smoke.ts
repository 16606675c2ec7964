/** `millwright smoke`: after a deploy, is every secret, vendor login, webhook route and poller working? */
import type { Command } from 'commander';
import { type SmokeReport, smokeCheck } from '../../operator/smoke.ts';
import { type CliContext, EXIT, emit, withTarget } from '../context.ts';
import { table } from '../output.ts';

function render(report: SmokeReport, width: number): string {
  const failed = report.checks.filter((c) => !c.ok).length;
  return (
    `${report.target}\n\n` +
    table(
      [{ header: 'CHECK' }, { header: 'RESULT' }, { header: 'DETAIL', flexible: true }],
      report.checks.map((c) => [c.name, c.ok ? 'ok' : 'FAILED', c.detail]),
      width,
    ) +
    (failed > 0
      ? `\n${failed} of ${report.checks.length} check(s) failed.\n`
      : `\nAll ${report.checks.length} checks passed.\n`)
  );
}

export function registerSmoke(program: Command, ctx: CliContext): void {
  program
    .command('smoke')
    .description(
      "check a deployment without changing it: each vendor secret readable and valid, each vendor's auth accepted by one cheap read, each webhook route answering 401 to an unsigned request, each poller reading its vendor (a dry poll: nothing enqueued, no watermark moved)",
    )
    .addHelpText(
      'after',
      `\nExit code ${EXIT.failed} when any check fails.\n\nExamples:\n  npx millwright smoke\n  npx millwright --stack Millwright --config config/plant.json smoke --json\n`,
    )
    .action(async (_options: unknown, command: Command) => {
      ctx.result.code = await withTarget(ctx, command, async (target, globals) => {
        const report = await smokeCheck(target);
        emit(ctx, globals, report, () => render(report, ctx.io.columns));
        return report.ok ? EXIT.ok : EXIT.failed;
      });
    });
}
