/** `--stack NAME`: the deployed stack as a target (wired to operator/stack-target.ts). */
import type { Target } from '../operator/target.ts';
import { CliError, EXIT, type GlobalOptions } from './context.ts';

export async function openStackTarget(options: GlobalOptions): Promise<Target> {
  throw new CliError(`stack ${options.stack}: not wired yet`, EXIT.unreachable);
}
