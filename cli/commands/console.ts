/**
 * `millwright console`: the operator console in the browser (console/server.ts), on the target the
 * global options name, until Ctrl-C. Prints the URL with the session's token; opens it in the
 * default browser unless --no-open.
 */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { startConsole } from '../../console/server.ts';
import { type CliContext, CliError, EXIT, globals } from '../context.ts';
import { operatorName } from './failures.ts';

/** Resolves on Ctrl-C (SIGINT) or SIGTERM. */
export function untilSignal(): Promise<void> {
  return new Promise((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** Best effort: the page still works from the printed URL when no browser opens. */
function openBrowser(url: string): void {
  const [command, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '', url]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(command, args as string[], { detached: true, stdio: 'ignore' });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // No opener here (a server, a container): the URL is printed.
  }
}

function parsePort(text: string | undefined): number {
  if (text === undefined) return 0;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new CliError(`--port: "${text}" is not a port number (0 to 65535; 0 = any free port)`, EXIT.usage);
  }
  return port;
}

export function registerConsole(program: Command, ctx: CliContext): void {
  program
    .command('console')
    .description(
      'the operator console in your browser: every flow, run and failure, replay, pause and backfill (127.0.0.1 only, with a per-session token)',
    )
    .option('--port <n>', 'the port to listen on (default: any free port)')
    .option('--no-open', 'print the URL without opening a browser')
    .addHelpText(
      'after',
      '\nExamples:\n  npx millwright console\n  npx millwright --stack Millwright --region eu-west-1 console --port 8999 --no-open\n',
    )
    .action(async (options: { port?: string; open: boolean }, command: Command) => {
      const port = parsePort(options.port);
      const target = await ctx.openTarget(globals(command));
      try {
        const server = await startConsole({ target, port, by: operatorName() }).catch((error: unknown) => {
          if ((error as { code?: string }).code === 'EADDRINUSE') {
            throw new CliError(
              `port ${port} is in use: pick another with --port, or leave it out for any free port`,
              EXIT.failed,
            );
          }
          throw error;
        });
        try {
          ctx.io.out(
            `Millwright console on ${target.label}:\n  ${server.url}\nThe link carries this session's token: keep it to yourself. Ctrl-C stops the console.\n`,
          );
          if (options.open) openBrowser(server.url);
          await (ctx.untilStopped ?? untilSignal)();
        } finally {
          await server.close();
        }
      } finally {
        target.close();
      }
    });
}
