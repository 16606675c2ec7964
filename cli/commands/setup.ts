/** Setting a deployment up: `discover <vendor>` (ids for the config) and `webhooks urls|register`. */
import type { Command } from 'commander';
import { discover } from '../../operator/discover.ts';
import { registerWebhook, webhookUrls } from '../../operator/webhooks.ts';
import { type CliContext, emit, withTarget } from '../context.ts';
import { table } from '../output.ts';

export function registerSetup(program: Command, ctx: CliContext): void {
  program
    .command('discover <vendor>')
    .description(
      'list the ids the config mappings need from the configured vendor account (machines, assets, parts, entities), as tables and a config fragment to paste',
    )
    .option('--fragment', 'print only the config fragment (JSON)')
    .addHelpText(
      'after',
      '\nExamples:\n  npx millwright discover upkeep\n  npx millwright discover machinemetrics --fragment > machines.json\n',
    )
    .action(async (vendor: string, options: { fragment?: boolean }, command: Command) => {
      await withTarget(ctx, command, async (target, globals) => {
        const result = await discover(target, vendor);
        if (options.fragment) {
          ctx.io.out(`${JSON.stringify(result.fragment ?? {}, null, 2)}\n`);
          return;
        }
        emit(ctx, globals, result, () => {
          const parts = result.lists.map(
            (list) =>
              `${result.name} ${list.kind} (${list.rows.length})${list.configPath ? `, for ${list.configPath}` : ''}\n` +
              table(
                list.columns.map((c) => ({ header: c.toUpperCase() })),
                list.rows.map((row) => list.columns.map((c) => row[c] ?? '')),
                ctx.io.columns,
              ) +
              (list.note ? `Note: ${list.note}\n` : ''),
          );
          const fragment = result.fragment
            ? `\nConfig fragment (merge into your config file; fill in the empty values):\n${JSON.stringify(result.fragment, null, 2)}\n`
            : '';
          const hints =
            result.hints.length > 0
              ? `\nTo fill in:\n${result.hints.map((h) => `  ${h.path}: ${h.hint}`).join('\n')}\n`
              : '';
          return `${parts.join('\n')}${fragment}${hints}`;
        });
      });
    });

  const webhooks = program
    .command('webhooks')
    .description("the webhook URLs to give each vendor, and registering them where the vendor's API allows");
  webhooks
    .command('urls')
    .description(
      "for each vendor an enabled flow receives webhooks from: the exact URL, the events to subscribe to, how deliveries authenticate, and the steps in the vendor's app",
    )
    .option(
      '--show-secrets',
      "fill in secrets that are part of a URL (the UpKeep webhook token) from the vendor's secret",
    )
    .addHelpText(
      'after',
      '\nExamples:\n  npx millwright webhooks urls\n  npx millwright --stack Millwright webhooks urls --show-secrets\n',
    )
    .action(async (options: { showSecrets?: boolean }, command: Command) => {
      await withTarget(ctx, command, async (target, globals) => {
        const hooks = await webhookUrls(target, { ...(options.showSecrets ? { showSecrets: true } : {}) });
        emit(ctx, globals, hooks, () =>
          hooks.length === 0
            ? 'No enabled flow receives webhooks.\n'
            : `${hooks
                .map((h) =>
                  [
                    `${h.name}${h.registrable ? ` (npx millwright webhooks register ${h.vendor})` : ''}`,
                    `  URL:    ${h.url ?? '(no ingress deployed)'}${h.secretHidden ? '   (--show-secrets fills in the token)' : ''}`,
                    `  Events: ${h.events.join(', ')}`,
                    `  Flows:  ${h.flows.join(', ')}`,
                    ...h.auth.map((a) => `  Auth:   ${a}`),
                    ...(h.steps.length > 0
                      ? ['  Steps:', ...h.steps.map((s, i) => `    ${i + 1}. ${s}`)]
                      : []),
                  ].join('\n'),
                )
                .join('\n\n')}\n`,
        );
      });
    });
  webhooks
    .command('register <vendor>')
    .description(
      "create (or update) and enable the webhook through the vendor's API (UpKeep); for the others, print the steps",
    )
    .option('--dry-run', 'say what would be created or changed; change nothing')
    .addHelpText('after', '\nExample:\n  npx millwright webhooks register upkeep --dry-run\n')
    .action(async (vendor: string, options: { dryRun?: boolean }, command: Command) => {
      await withTarget(ctx, command, async (target, globals) => {
        const result = await registerWebhook(target, vendor, { ...(options.dryRun ? { dryRun: true } : {}) });
        emit(
          ctx,
          globals,
          result,
          () =>
            `${[
              result.registered
                ? `${vendor}: webhook ${result.action}${result.id ? ` (${result.id})` : ''} for ${result.url}`
                : result.action
                  ? `${vendor}: dry run: the webhook would be ${result.action} for ${result.url}`
                  : `${vendor}: no API to register webhooks; do it by hand:`,
              ...result.details.map((d) => `  ${d}`),
              ...result.steps.map((s, i) => `  ${i + 1}. ${s}`),
            ].join('\n')}\n`,
        );
      });
    });
}
