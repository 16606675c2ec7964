/**
 * Lambda entry files, generated from the deployment: one worker per enabled flow, one poller per
 * schedule trigger (one per poll group for triggers that share a poll: runtime/shared-poll.ts), one webhook ingress for every vendor an enabled flow receives webhooks from.
 *
 * Each entry imports only what its function runs (a worker imports its own flow module, never the
 * registry), so bundles stay small. Settings are embedded as a JSON literal: vendor settings carry
 * secret *names*, never values. The stack (lib/stack.ts) and the bench (bench/bundles.ts) share it.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Deployment, retryOf } from '../functions/config/deployment.ts';
import { connectorId } from '../functions/connectors/index.ts';
import {
  type AnyFlow,
  type VendorId,
  type WebhookReceiver,
  webhookEventsOf,
} from '../functions/core/flow.ts';
import { flowModulePath } from '../functions/flows/index.ts';
import { buildRouting } from '../functions/runtime/ingress.ts';
import type { LambdaSettings } from '../functions/runtime/lambda/common.ts';
import type { RetrySettings } from '../functions/runtime/retry.ts';
import { type PollGroup, planPollGroups } from '../functions/runtime/shared-poll.ts';

/** The repository root (this file lives in `<root>/lib/`). */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/[/\\]$/, '');
export const DEFAULT_ENTRIES_DIR = join(PROJECT_ROOT, '.build', 'entries');

/** Each kind's glue is its own module, so a bundle loads only the SDK clients it uses. */
const runtimeModule = (kind: 'worker' | 'poller' | 'shared-poller' | 'ingress') =>
  `functions/runtime/lambda/${kind}.ts`;
/** By contract each connector's `webhook.ts` default-exports its WebhookReceiver. */
export const webhookModulePath = (vendor: VendorId): string => `functions/connectors/${vendor}/webhook.ts`;

interface EntryBase {
  /** Unique, file-name safe: `<flow>-worker`, `<flow>-poller-<trigger index>`, `webhook-ingress`. */
  id: string;
  /** Absolute path of the generated entry file. */
  entryPath: string;
  /** Vendors whose settings (and secrets) the function needs. */
  vendors: VendorId[];
  settings: LambdaSettings;
}
export interface WorkerEntry extends EntryBase {
  kind: 'worker';
  flow: AnyFlow;
}
export interface PollerEntry extends EntryBase {
  kind: 'poller';
  flow: AnyFlow;
  /** Index into `flow.triggers` (what `pollerLambda` expects). */
  triggerIndex: number;
}
/** A poll group's poller (runtime/shared-poll.ts): one poll feeding several flows' queues. */
export interface SharedPollerEntry extends EntryBase {
  kind: 'shared-poller';
  group: PollGroup;
}
export interface IngressEntry extends EntryBase {
  kind: 'ingress';
  /** One receiver per vendor, in the order the enabled flows first mention them. */
  receivers: WebhookReceiver[];
}
export type LambdaEntry = WorkerEntry | PollerEntry | SharedPollerEntry | IngressEntry;

/** The table access an entry's kind needs (lib/state-access.ts): a group's poller is a poller. */
export const stateKindOf = (kind: LambdaEntry['kind']): 'ingress' | 'worker' | 'poller' =>
  kind === 'shared-poller' ? 'poller' : kind;

const unique = <T>(items: Iterable<T>): T[] => [...new Set(items)];

/** SQS allows 80 characters; the DLQ adds `-dlq`. */
const MAX_QUEUE_NAME = 80 - '-dlq'.length;

/**
 * The deterministic name of a flow's queue (its DLQ adds `-dlq`). The ingress derives each queue's
 * URL from it (`QUEUE_URL_PREFIX` + name), so its environment stays the same size whatever the
 * number of flows (Lambda allows 4 KB of environment in total). Too long a name is shortened and
 * given a hash suffix, so two flows never share a queue.
 */
export function flowQueueName(deploymentName: string, flowId: string): string {
  const name = `${deploymentName}-${flowId}`;
  if (name.length <= MAX_QUEUE_NAME) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, MAX_QUEUE_NAME - hash.length - 1)}-${hash}`;
}

function settingsFor(
  deployment: Deployment,
  vendors: readonly VendorId[],
  extra: Pick<LambdaSettings, 'flowConfig' | 'routing'> = {},
  retry: RetrySettings = deployment.runtime.retry,
): LambdaSettings {
  const configured = deployment.vendors as Partial<Record<VendorId, unknown>>;
  const picked: Record<string, unknown> = {};
  for (const vendor of vendors) {
    if (configured[vendor] !== undefined) picked[vendor] = configured[vendor];
  }
  const { logLevel, maxReceiveCount, maxWebhookBytes, runLogRetentionDays, circuitBreaker } =
    deployment.runtime;
  return {
    deployment: deployment.name,
    vendors: picked,
    runtime: { logLevel, maxReceiveCount, maxWebhookBytes, retry, runLogRetentionDays, circuitBreaker },
    ...extra,
  };
}

/** Import specifier from an entry file to a repo file, always relative and with its `.ts` extension. */
function specifier(fromFile: string, repoPath: string): string {
  const rel = relative(dirname(fromFile), join(PROJECT_ROOT, repoPath)).split(sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

const HEADER = '// Generated by lib/entries.ts from the deployment config. Do not edit.\n';
const literal = (value: unknown): string => JSON.stringify(value, null, 2);

/** The flow module's default export (or its `flow` export), checked against the registry id. */
const flowBinding = (id: string) =>
  `const flow = flowModule.default ?? flowModule.flow;\n` +
  `if (flow?.id !== ${JSON.stringify(id)}) throw new Error(${JSON.stringify(`${flowModulePath(id)} does not export flow ${id}`)});\n`;

/** The descriptors and the source text of every entry, without touching the file system. */
export function planEntries(
  deployment: Deployment,
  dir: string = DEFAULT_ENTRIES_DIR,
): (LambdaEntry & { source: string })[] {
  const out: (LambdaEntry & { source: string })[] = [];
  const webhookVendors: VendorId[] = [];
  const receivers = new Map<VendorId, WebhookReceiver>();
  // Flows whose triggers share a poll get one poller per group instead of one each.
  const { groups, ownPoll } = planPollGroups(deployment.enabled);

  for (const enabled of deployment.enabled) {
    const { flow, config } = enabled;
    const workerPath = resolve(dir, flow.id, 'worker.ts');
    const vendors = unique(flow.vendors);
    const workerSettings = settingsFor(
      deployment,
      vendors,
      { flowConfig: config },
      retryOf(deployment, enabled),
    );
    out.push({
      kind: 'worker',
      id: `${flow.id}-worker`,
      entryPath: workerPath,
      vendors,
      flow,
      settings: workerSettings,
      source:
        HEADER +
        `import * as flowModule from '${specifier(workerPath, flowModulePath(flow.id))}';\n` +
        `import { workerLambda } from '${specifier(workerPath, runtimeModule('worker'))}';\n\n` +
        flowBinding(flow.id) +
        `const settings = ${literal(workerSettings)};\n\n` +
        'export const handler = workerLambda(flow, settings);\n',
    });

    flow.triggers.forEach((trigger, triggerIndex) => {
      if (trigger.kind === 'webhook') {
        const vendor = connectorId(trigger.receiver.vendor);
        if (!receivers.has(vendor)) {
          receivers.set(vendor, trigger.receiver);
          webhookVendors.push(vendor);
        }
        return;
      }
      if (!ownPoll(flow.id, triggerIndex)) return;
      const pollerPath = resolve(dir, flow.id, `poller-${triggerIndex}.ts`);
      const pollVendors: VendorId[] = [connectorId(trigger.source.vendor)];
      const settings = settingsFor(deployment, pollVendors, { flowConfig: config });
      out.push({
        kind: 'poller',
        id: `${flow.id}-poller-${triggerIndex}`,
        entryPath: pollerPath,
        vendors: pollVendors,
        flow,
        triggerIndex,
        settings,
        source:
          HEADER +
          `import * as flowModule from '${specifier(pollerPath, flowModulePath(flow.id))}';\n` +
          `import { pollerLambda } from '${specifier(pollerPath, runtimeModule('poller'))}';\n\n` +
          flowBinding(flow.id) +
          `const settings = ${literal(settings)};\n\n` +
          `export const handler = pollerLambda(flow, ${triggerIndex}, settings);\n`,
      });
    });
  }

  for (const group of groups) out.push(sharedPollerEntry(deployment, dir, group));

  if (webhookVendors.length > 0) {
    const ingressPath = resolve(dir, 'webhook-ingress.ts');
    // Event type -> queue *names*, bundled: the environment carries only the URL prefix.
    const routing = buildRouting(
      deployment.enabled.map(({ flow }) => ({
        queue: flowQueueName(deployment.name, flow.id),
        events: webhookEventsOf(flow),
      })),
    );
    const settings = settingsFor(deployment, webhookVendors, { routing });
    const imports = webhookVendors
      .map(
        (vendor, i) => `import receiver${i} from '${specifier(ingressPath, webhookModulePath(vendor))}';\n`,
      )
      .join('');
    out.push({
      kind: 'ingress',
      id: 'webhook-ingress',
      entryPath: ingressPath,
      vendors: webhookVendors,
      receivers: webhookVendors.map((v) => receivers.get(v) as WebhookReceiver),
      settings,
      source:
        HEADER +
        imports +
        `import { ingressLambda } from '${specifier(ingressPath, runtimeModule('ingress'))}';\n\n` +
        `const settings = ${literal(settings)};\n\n` +
        `export const handler = ingressLambda([${webhookVendors.map((_, i) => `receiver${i}`).join(', ')}], settings);\n`,
    });
  }
  return out;
}

/** A group's poller: imports each member flow's module; queue URLs come as `QUEUE_URL_<i>`. */
function sharedPollerEntry(
  deployment: Deployment,
  dir: string,
  group: PollGroup,
): SharedPollerEntry & { source: string } {
  const entryPath = resolve(dir, group.id, 'poller.ts');
  const vendors: VendorId[] = [connectorId(group.source.vendor)];
  const settings = settingsFor(deployment, vendors);
  const imports = group.members
    .map(
      (m, i) => `import * as flowModule${i} from '${specifier(entryPath, flowModulePath(m.flow.id))}';
`,
    )
    .join('');
  const members = group.members
    .map((m, i) => {
      const id = JSON.stringify(m.flow.id);
      return (
        `  (() => {
` +
        `    const flow = flowModule${i}.default ?? flowModule${i}.flow;
` +
        `    if (flow?.id !== ${id}) throw new Error(${JSON.stringify(`${flowModulePath(m.flow.id)} does not export flow ${m.flow.id}`)});
` +
        `    return { flow, flowConfig: ${literal(m.config).replaceAll('\n', '\n    ')} };
` +
        `  })(),
`
      );
    })
    .join('');
  return {
    kind: 'shared-poller',
    id: group.id,
    entryPath,
    vendors,
    group,
    settings,
    source:
      HEADER +
      imports +
      `import { sharedPollerLambda } from '${specifier(entryPath, runtimeModule('shared-poller'))}';

` +
      `const members = [
${members}];
` +
      `const settings = ${literal(settings)};

` +
      `export const handler = sharedPollerLambda(${JSON.stringify(group.id)}, members, settings);
`,
  };
}

/** Write a file only if its content changed, atomically (parallel test workers may write the same file). */
function writeIfChanged(path: string, content: string): void {
  try {
    if (readFileSync(path, 'utf8') === content) return;
  } catch {
    // missing: write it
  }
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

/** Generate every entry file under `dir` (default `.build/entries/`) and return their descriptors. */
export function writeEntries(deployment: Deployment, dir: string = DEFAULT_ENTRIES_DIR): LambdaEntry[] {
  return planEntries(deployment, dir).map(({ source, ...entry }) => {
    writeIfChanged(entry.entryPath, source);
    return entry;
  });
}

/** Vendor -> Secrets Manager secret *name* for the vendors an entry's settings carry. */
export function secretNamesOf(entry: LambdaEntry): Record<string, string> {
  const names: Record<string, string> = {};
  for (const vendor of entry.vendors) {
    const settings = entry.settings.vendors[vendor] as { secretName?: unknown } | undefined;
    if (typeof settings?.secretName === 'string') names[vendor] = settings.secretName;
  }
  return names;
}
