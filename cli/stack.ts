/** `--stack NAME`: the deployed stack, found from its outputs, with the deployment config it came from. */
import { resolve } from 'node:path';
import { loadDeployment } from '../functions/config/deployment.ts';
import { flows } from '../functions/flows/index.ts';
import { stackTarget } from '../operator/stack-target.ts';
import type { Target } from '../operator/target.ts';
import type { GlobalOptions } from './context.ts';
import type { Io } from './output.ts';

export async function openStackTarget(options: GlobalOptions, io: Io): Promise<Target> {
  const deployment = loadDeployment(
    resolve(options.config ?? process.env.MILLWRIGHT_CONFIG ?? 'config/default.json'),
    flows,
  );
  const target = await stackTarget({
    stackName: options.stack as string,
    ...(options.region ? { region: options.region } : {}),
    deployment,
  });
  for (const warning of target.warnings) io.err(`millwright: warning: ${warning}\n`);
  return target;
}
