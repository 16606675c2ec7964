/** `secrets generate-webhook <vendor>`: a random webhook credential where Millwright chooses it. */
import type { Command } from 'commander';
import { GENERABLE_WEBHOOK_SECRETS, generateWebhookSecret } from '../../operator/secrets.ts';
import { type CliContext, emit, type GlobalOptions, withTarget } from '../context.ts';

/** The target options this command ran with, so a hint's command reaches the same sandbox or stack. */
export function targetFlags(options: GlobalOptions): string {
  const flags: string[] = [];
  if (typeof options.sandbox === 'string') flags.push(`--sandbox ${options.sandbox}`);
  else if (options.sandbox) flags.push('--sandbox');
  if (options.stack) flags.push(`--stack ${options.stack}`);
  if (options.region) flags.push(`--region ${options.region}`);
  return flags.map((f) => `${f} `).join('');
}

export function registerSecrets(program: Command, ctx: CliContext): void {
  const secrets = program
    .command('secrets')
    .description('webhook credentials that can follow the deploy (no redeploy needed)');
  secrets
    .command('generate-webhook <vendor>')
    .description(
      `generate a random webhook credential and merge it into the vendor's secret (${Object.entries(
        GENERABLE_WEBHOOK_SECRETS,
      )
        .map(([vendor, g]) => `${vendor}: ${g.field}`)
        .join(', ')}); the webhook route accepts it within 30 s`,
    )
    .option('--rotate', 'replace a credential that is already set (the vendor side must change too)')
    .option('--show-secret', 'print the new credential (to paste at the vendor)')
    .addHelpText(
      'after',
      '\nExamples:\n  npx millwright secrets generate-webhook upkeep\n  npx millwright --stack Millwright secrets generate-webhook machinemetrics --show-secret\n',
    )
    .action(async (vendor: string, options: { rotate?: boolean; showSecret?: boolean }, command: Command) => {
      await withTarget(ctx, command, async (target, globals) => {
        const result = await generateWebhookSecret(target, vendor, { rotate: options.rotate ?? false });
        // The value leaves this process only when asked for.
        const { value, ...shown } = result;
        const data = options.showSecret ? result : shown;
        emit(
          ctx,
          globals,
          data,
          () =>
            `${[
              `${vendor}: ${result.rotated ? 'replaced' : 'generated'} ${result.field} in secret ${result.secretName} (${target.label}); the webhook route accepts it within 30 s`,
              ...(options.showSecret ? [`  ${result.field}: ${value}`] : []),
              'Next:',
              ...result.next.map(
                (n, i) =>
                  `  ${i + 1}. ${n.replaceAll('npx millwright ', `npx millwright ${targetFlags(globals)}`)}`,
              ),
            ].join('\n')}\n`,
        );
      });
    });
}
