/**
 * `millwright`: the operator's command line (commander). Every command works the same against the
 * sandbox (`--sandbox [dir]`, the default: `.sandbox/endpoints.json` written by `npm start`) and a
 * deployed stack (`--stack NAME [--region R]`: its CloudFormation outputs, the user's own AWS
 * credentials). Commands are thin: they parse, call one operator function (operator/), and print a
 * table or `--json`. `runCli` is what bin/millwright.mjs, the demo and the tests call.
 */
import { createInterface } from 'node:readline/promises';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, MillwrightError } from '../functions/core/errors.ts';
import { AwsAccessDeniedError, AwsCredentialsError, explainAwsError } from '../operator/aws-errors.ts';
import { BackfillNotSupportedError, InvalidBackfillError } from '../operator/backfill.ts';
import { UnknownVendorError } from '../operator/discover.ts';
import { SandboxNotRunningError, sandboxTargetFromDir } from '../operator/sandbox-target.ts';
import { StackConfigMismatchError, StackNotFoundError, StackOutputsError } from '../operator/stack-target.ts';
import { type Target, UnknownFlowError } from '../operator/target.ts';
import { TestEventInputError } from '../operator/test-event.ts';
import { registerConsole } from './commands/console.ts';
import { registerFailures } from './commands/failures.ts';
import { registerFlows } from './commands/flows.ts';
import { registerRuns } from './commands/runs.ts';
import { registerSecrets } from './commands/secrets.ts';
import { registerSetup } from './commands/setup.ts';
import { registerSmoke } from './commands/smoke.ts';
import { registerStatus } from './commands/status.ts';
import { type CliContext, CliError, EXIT, type GlobalOptions } from './context.ts';
import { InputError, type Io, processIo } from './output.ts';

/** Opens the target the global options name. */
export async function openTarget(options: GlobalOptions, io: Io = processIo()): Promise<Target> {
  if (options.stack) {
    // Loaded only for stacks: the sandbox never needs the CloudFormation, Lambda and Scheduler clients.
    const { openStackTarget } = await import('./stack.ts');
    return openStackTarget(options, io);
  }
  // The sandbox's config and region come from npm start: a stack flag without --stack would be ignored
  // silently, and the operator would read the sandbox believing it is their plant's stack.
  const stackOnly = [options.region && '--region', options.config && '--config'].filter(Boolean);
  if (stackOnly.length > 0) {
    throw new InputError(
      `${stackOnly.join(' and ')} only ${stackOnly.length > 1 ? 'apply' : 'applies'} to a deployed stack: add --stack <name> (the sandbox takes its config from npm start, MILLWRIGHT_CONFIG)`,
    );
  }
  return sandboxTargetFromDir(typeof options.sandbox === 'string' ? options.sandbox : '.sandbox');
}

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('millwright')
    .description(
      'Operate Millwright: see every run, replay failures, backfill, pause and test flows, on the sandbox or a deployed stack.',
    )
    .addOption(
      new Option(
        '--sandbox [dir]',
        'work on the local sandbox that npm start runs (default; its data folder, default .sandbox)',
      ),
    )
    .addOption(
      new Option(
        '--stack <name>',
        'work on a deployed stack (CloudFormation stack name) with your AWS credentials',
      ).conflicts('sandbox'),
    )
    .option('--region <region>', 'AWS region of the stack (default: your AWS config, AWS_REGION)')
    .option(
      '--config <file>',
      'the deployment config the stack was deployed with (default: config/default.json, as cdk deploy)',
    )
    .option('--json', 'print JSON for scripts instead of tables')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 the operation failed, 2 bad usage, 3 target unreachable, 4 not found, 5 status --check found something.

Examples:
  npx millwright status
  npx millwright runs --subject 0e871f8e-a48a-4a7b-ba33-a02cba7d4f2c
  npx millwright --stack Millwright --region eu-west-1 dlq list machinemetrics-downtime-to-upkeep-work-order
`,
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.io.out(text),
      writeErr: (text) => ctx.io.err(text),
    });
  registerStatus(program, ctx);
  registerRuns(program, ctx);
  registerFailures(program, ctx);
  registerFlows(program, ctx);
  registerSetup(program, ctx);
  registerSmoke(program, ctx);
  registerSecrets(program, ctx);
  registerConsole(program, ctx);
  return program;
}

/** `Replay 3 event(s) ...? [y/N]` on the terminal. */
async function askOnTerminal(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/** Is this the SDK failing to reach an endpoint (sandbox not running) or to find credentials? */
function unreachable(error: unknown): string | undefined {
  const e = error as { code?: string; name?: string; message?: string; cause?: { code?: string } };
  const code = e?.code ?? e?.cause?.code;
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH') {
    return 'the target is not answering (is npm start still running? its endpoints.json may be stale)';
  }
  if (e?.name === 'CredentialsProviderError') {
    return 'no AWS credentials found: set AWS_PROFILE (aws sso login) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY';
  }
  return undefined;
}

export async function runCli(argv: readonly string[], options: Partial<CliContext> = {}): Promise<number> {
  const io = options.io ?? processIo();
  const ctx: CliContext = {
    io,
    now: options.now ?? (() => new Date()),
    openTarget: options.openTarget ?? ((o) => openTarget(o, io)),
    ...(options.untilStopped ? { untilStopped: options.untilStopped } : {}),
    ...(options.confirm
      ? { confirm: options.confirm }
      : process.stdin.isTTY
        ? { confirm: askOnTerminal }
        : {}),
    result: { code: EXIT.ok },
  };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.result.code;
  } catch (error) {
    return report(ctx.io, error);
  }
}

function report(io: Io, error: unknown): number {
  if (error instanceof CommanderError) {
    // Help and version are "errors" to commander; commander has printed what it had to.
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  const say = (message: string, code: number) => {
    io.err(`millwright: ${message}\n`);
    return code;
  };
  if (error instanceof CliError) return say(error.message, error.code);
  // The user's own input, refused with the reason (README: exit 2, bad usage).
  if (
    error instanceof InputError ||
    error instanceof UnknownFlowError ||
    error instanceof UnknownVendorError ||
    error instanceof InvalidBackfillError ||
    error instanceof BackfillNotSupportedError ||
    error instanceof TestEventInputError
  ) {
    return say(error.message, EXIT.usage);
  }
  if (error instanceof SandboxNotRunningError) return say(error.message, EXIT.unreachable);
  if (
    error instanceof StackNotFoundError ||
    error instanceof StackOutputsError ||
    error instanceof AwsCredentialsError ||
    error instanceof AwsAccessDeniedError
  ) {
    return say(error.message, EXIT.unreachable);
  }
  if (error instanceof StackConfigMismatchError) return say(error.message, EXIT.usage);
  if (error instanceof ConfigError) return say(error.message, EXIT.usage);
  const explained = explainAwsError(error, 'talking to AWS');
  if (explained instanceof AwsCredentialsError || explained instanceof AwsAccessDeniedError) {
    return say(explained.message, EXIT.unreachable);
  }
  const why = unreachable(error);
  if (why) return say(why, EXIT.unreachable);
  if (error instanceof MillwrightError) return say(error.message, EXIT.failed);
  return say(error instanceof Error ? (error.stack ?? error.message) : String(error), EXIT.failed);
}
