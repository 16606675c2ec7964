/**
 * The stack deploys before any webhook secret exists: the template never reads a secret value
 * (no `{{resolve:secretsmanager:...}}` dynamic reference, which CloudFormation resolves at deploy
 * and fails on a missing secret), creates or imports no secret resource, and grants read on the
 * configured secret *names* (fromSecretNameV2 ARN patterns), so a secret created or changed later
 * is picked up by the running functions.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { buildApp } from '../../lib/app.ts';
import { PROJECT_ROOT } from '../../lib/entries.ts';

const CONFIG = join(PROJECT_ROOT, 'config/default.json');

describe('webhook secrets are not needed at deploy', () => {
  const { app } = buildApp(CONFIG, { 'aws:cdk:bundling-stacks': [] });
  const dir = app.synth().directory;
  const templates = readdirSync(dir)
    .filter((f) => f.endsWith('.template.json'))
    .map((f) => readFileSync(join(dir, f), 'utf8'));

  it('synthesizes templates', () => {
    expect(templates.length).toBeGreaterThan(0);
  });

  it('has no secret dynamic reference and no secret resource', () => {
    for (const text of templates) {
      expect(text).not.toMatch(/resolve:secretsmanager/);
      expect(text).not.toContain('AWS::SecretsManager::Secret');
      // No webhook credential field is referenced by the infrastructure at all.
      expect(text).not.toMatch(/webhookToken"|webhookSecret"|webhookSecrets"/);
    }
  });

  it('grants GetSecretValue on each configured secret name, whether or not it exists yet', () => {
    const all = templates.join('\n');
    for (const name of ['millwright/upkeep', 'millwright/machinemetrics', 'millwright/mobility-work']) {
      expect(all).toContain(`:secret:${name}-??????`);
    }
  });
});
