/** The `millwright` CLI run in this process against a sandbox, as an operator would type it. */
import { runCli } from '../../cli/main.ts';
import { bufferIo } from '../../cli/output.ts';
import { sandboxTarget } from '../../operator/sandbox-target.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** `cli(...argv)` runs one command on the sandbox (its clock is the CLI's "now"); `json` parses `--json`. */
export function sandboxCli(sandbox: () => Sandbox) {
  const cli = async (...argv: string[]): Promise<CliRun> => {
    const io = bufferIo(400);
    const code = await runCli(argv, {
      io,
      now: () => sandbox().clock.now(),
      openTarget: async () => sandboxTarget(sandbox()),
    });
    return { code, out: io.stdout.join(''), err: io.stderr.join('') };
  };
  const json = async <T>(...argv: string[]): Promise<T> => {
    const { code, out, err } = await cli('--json', ...argv);
    if (code !== 0) throw new Error(`millwright ${argv.join(' ')} exited ${code}: ${err}`);
    return JSON.parse(out) as T;
  };
  return { cli, json };
}
