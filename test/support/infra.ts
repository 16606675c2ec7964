/** Helpers the infra tests share: a config variant on disk, and cdk-nag's findings over an app. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { App } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { PROJECT_ROOT } from '../../lib/entries.ts';

type Json = Record<string, unknown>;

/** config/default.json with `runtime` keys replaced by `runtime`, written as `<dir>/<name>.json`; its path. */
export function configWithRuntime(dir: string, name: string, runtime: Json): string {
  const config = JSON.parse(readFileSync(join(PROJECT_ROOT, 'config/default.json'), 'utf8')) as Json;
  config.runtime = { ...(config.runtime as Json | undefined), ...runtime };
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

export const NAG_PACKS = ['AwsSolutions', 'Serverless'] as const;

/** What a cdk-nag pack finds unacknowledged in `app`: `<severity> <rule>: <construct paths>` each. */
export function nagFindings(app: App, pack: (typeof NAG_PACKS)[number]): string[] {
  const checks =
    pack === 'AwsSolutions'
      ? new AwsSolutionsChecks(app, { verbose: true })
      : new ServerlessChecks(app, { verbose: true });
  return checks
    .validateScope(app)
    .violations.map(
      (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
}
