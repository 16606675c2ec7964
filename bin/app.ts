/**
 * CDK app entry (`cdk.json`: `npx tsx bin/app.ts`). `cdk synth -c config=config/site.json` picks a
 * deployment config (default config/default.json); `-c nag=true` adds the cdk-nag checks.
 * A bad config fails the synth with the path of the bad field.
 */
import { ConfigError } from '../functions/core/errors.ts';
import { buildApp } from '../lib/app.ts';

try {
  buildApp().app.synth();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
