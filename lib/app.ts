/**
 * Builds the CDK app from a deployment config file. bin/app.ts calls it for `cdk synth`/`deploy`;
 * tests call it directly (no subprocess). Throws ConfigError (naming the bad field's path) when
 * the config is invalid. Environment-agnostic: no account or region lookups.
 */
import { resolve } from 'node:path';
import { Annotations, App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { checkDeployable, deployWarnings } from '../functions/config/deploy-checks.ts';
import { type Deployment, loadDeployment } from '../functions/config/deployment.ts';
import type { AnyFlow } from '../functions/core/flow.ts';
import { flows } from '../functions/flows/index.ts';
import { MillwrightStack } from './stack.ts';

export const DEFAULT_CONFIG = 'config/default.json';

export interface BuiltApp {
  app: App;
  stack: MillwrightStack;
  deployment: Deployment;
  configPath: string;
}

export interface BuildOptions {
  /** The flow registry (default: functions/flows/index.ts). */
  registry?: readonly AnyFlow[];
  /** Where the Lambda entry files are generated (default `.build/entries/`). */
  entriesDir?: string;
}

/**
 * @param configPath the deployment config; default: context `config` (`cdk synth -c config=<path>`),
 *   else `config/default.json`. Relative paths resolve against the working directory.
 * @param context extra CDK context, e.g. `{ 'aws:cdk:bundling-stacks': [] }` in tests; `nag: true`
 *   applies the cdk-nag AwsSolutions and Serverless checks.
 */
export function buildApp(
  configPath?: string,
  context: Record<string, unknown> = {},
  options: BuildOptions = {},
): BuiltApp {
  const app = new App({ context });
  const path = resolve(
    configPath ?? (app.node.tryGetContext('config') as string | undefined) ?? DEFAULT_CONFIG,
  );
  const deployment = loadDeployment(path, options.registry ?? flows);
  checkDeployable(deployment, path);
  const stack = new MillwrightStack(app, deployment.name, { deployment, entriesDir: options.entriesDir });
  // `cdk synth`/`deploy` print these (and `--strict` refuses them).
  for (const warning of deployWarnings(deployment)) {
    Annotations.of(stack).addWarningV2(
      `millwright:${warning.path}`,
      `config ${path} at ${warning.path}: ${warning.message}`,
    );
  }
  const nag = app.node.tryGetContext('nag') as unknown;
  if (nag === true || nag === 'true') {
    Validations.of(app).addPlugins(
      new AwsSolutionsChecks(app, { verbose: true }),
      new ServerlessChecks(app, { verbose: true }),
    );
  }
  return { app, stack, deployment, configPath: path };
}
