/** The console as `npm start` runs it: the sandbox's operator target plus the simulators' side. */
import { type ConsoleServer, startConsole } from '../../console/server.ts';
import { sandboxTarget } from '../../operator/sandbox-target.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';

export function consoleOnSandbox(sandbox: Sandbox): Promise<ConsoleServer> {
  return startConsole({ target: sandboxTarget(sandbox), port: 0 });
}
