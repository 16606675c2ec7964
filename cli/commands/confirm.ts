/** Asking before a change: `--yes` goes ahead; without a way to ask (no terminal), refuse and say how. */
import { type CliContext, CliError, EXIT } from '../context.ts';

export async function confirmed(ctx: CliContext, yes: boolean | undefined, question: string): Promise<void> {
  if (yes) return;
  if (!ctx.confirm || !(await ctx.confirm(question))) {
    throw new CliError(
      `${question} Not confirmed: add --yes to go ahead (or --dry-run to see what it would do).`,
      EXIT.failed,
    );
  }
}
