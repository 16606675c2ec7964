/**
 * `millwright webhooks urls` and `webhooks register <vendor>`: for each vendor whose webhook receiver
 * an enabled flow uses, the exact URL to give the vendor (the target's ingress + the receiver's
 * route), the vendor's names of the events to subscribe to (the enabled flows' handled webhook
 * events), how the vendor must authenticate its deliveries, and the steps to follow where the vendor
 * has no registration API. Secrets in a route (UpKeep's `{token}`) stay placeholders unless asked.
 */
import { connectorById } from '../functions/connectors/index.ts';
import {
  type AnyConnector,
  type WebhookRegistrationResult,
  webhookUrl,
} from '../functions/core/connector.ts';
import { MillwrightError, rememberCredential } from '../functions/core/errors.ts';
import { type WebhookReceiver, webhookEventsOf } from '../functions/core/flow.ts';
import { type Log, silentLog } from '../functions/core/log.ts';
import { readSecret } from '../functions/core/secrets.ts';
import { knownVendor } from './discover.ts';
import type { Target } from './target.ts';

/** No enabled flow uses the vendor's webhooks here. */
export class NoWebhookError extends MillwrightError {}
/** The URL cannot be built (no ingress on the target, or a secret route param is missing). */
export class WebhookUrlError extends MillwrightError {}

export interface VendorWebhook {
  vendor: string;
  /** The vendor's name for people. */
  name: string;
  /** API route key, e.g. `POST /webhooks/upkeep/{token}`. */
  route: string;
  /** The URL to give the vendor; `{token}`-style placeholders unless `showSecrets`. Undefined: no ingress. */
  url?: string;
  /** Whether `url` still has a placeholder for a secret. */
  secretHidden: boolean;
  /** The vendor's names of the events to subscribe to. */
  events: string[];
  /** The flow event types behind them (`upkeep.WORK_ORDER_UPDATED`). */
  eventTypes: string[];
  /** The enabled flows that use these webhooks. */
  flows: string[];
  /** How the vendor must authenticate its deliveries. */
  auth: string[];
  /** What to do in the vendor's UI (also shown where an API exists, as the manual way). */
  steps: string[];
  /** `webhooks register <vendor>` can do it through the vendor's API. */
  registrable: boolean;
}

interface Usage {
  receiver: WebhookReceiver;
  types: Set<string>;
  flows: string[];
}

/** The receivers the enabled flows use, by vendor, in flow order. */
function usages(target: Target): Map<string, Usage> {
  const byVendor = new Map<string, Usage>();
  for (const [flowId, { flow }] of target.flows) {
    const types = webhookEventsOf(flow);
    for (const trigger of flow.triggers) {
      if (trigger.kind !== 'webhook') continue;
      const receiver = trigger.receiver;
      const own = types.filter((t) => Object.hasOwn(receiver.events, t));
      if (own.length === 0) continue;
      const usage = byVendor.get(receiver.vendor) ?? { receiver, types: new Set<string>(), flows: [] };
      for (const t of own) usage.types.add(t);
      if (!usage.flows.includes(flowId)) usage.flows.push(flowId);
      byVendor.set(receiver.vendor, usage);
    }
  }
  return byVendor;
}

async function describe(
  target: Target,
  vendor: string,
  usage: Usage,
  options: { showSecrets: boolean; log: Log },
): Promise<VendorWebhook> {
  const connector: AnyConnector | undefined = connectorById(vendor);
  const setup = connector?.webhookSetup;
  const settings = (target.deployment.vendors as Record<string, unknown>)[vendor];
  const eventTypes = [...usage.types];
  const events = setup?.vendorEvents
    ? setup.vendorEvents(eventTypes)
    : eventTypes.map((t) => (t.startsWith(`${vendor}.`) ? t.slice(vendor.length + 1) : t));
  let params: Record<string, string> = {};
  if (options.showSecrets && setup?.secretParams && connector) {
    const env = target.env(options.log);
    const secretName = (settings as { secretName: string }).secretName;
    params = setup.secretParams(await readSecret(env.secrets, secretName, connector.secret));
    // The URL now carries a credential (UpKeep's token): a vendor error repeating the endpoint we
    // sent must not print it, so every redaction removes it from here on.
    for (const value of Object.values(params)) rememberCredential(value);
  }
  const url = target.ingressUrl ? webhookUrl(target.ingressUrl, usage.receiver.route, params) : undefined;
  const shown = url ?? `<ingress URL>${webhookUrl('', usage.receiver.route)}`;
  return {
    vendor,
    name: connector?.name ?? vendor,
    route: usage.receiver.route,
    ...(url ? { url } : {}),
    secretHidden: /\{\w+\}/.test(url ?? usage.receiver.route),
    events,
    eventTypes,
    flows: usage.flows,
    auth: setup ? setup.auth(settings) : [],
    steps: setup ? setup.steps({ url: shown, events, settings }) : [],
    registrable: setup?.register !== undefined,
  };
}

/** Every vendor whose webhooks an enabled flow uses, in flow order. */
export async function webhookUrls(
  target: Target,
  options: { showSecrets?: boolean; log?: Log } = {},
): Promise<VendorWebhook[]> {
  const opts = { showSecrets: options.showSecrets ?? false, log: options.log ?? silentLog };
  const out: VendorWebhook[] = [];
  for (const [vendor, usage] of usages(target)) out.push(await describe(target, vendor, usage, opts));
  return out;
}

export interface RegisterWebhookResult {
  vendor: string;
  /** True when the vendor now has the webhook, enabled, through its API (never in a dry run). */
  registered: boolean;
  /** The URL, secrets as placeholders. */
  url?: string;
  events: string[];
  /** Present when the vendor's API did (or, dry, would do) something. */
  action?: WebhookRegistrationResult['action'];
  id?: string;
  details: string[];
  /** For vendors without a registration API: what to do by hand. */
  steps: string[];
}

/**
 * Register the vendor's webhook through its API (UpKeep), reusing one with the same URL; for the
 * others, the steps to follow (`registered: false`).
 */
export async function registerWebhook(
  target: Target,
  vendorId: string,
  options: { dryRun?: boolean; log?: Log } = {},
): Promise<RegisterWebhookResult> {
  const log = options.log ?? silentLog;
  knownVendor(vendorId);
  const usage = usages(target).get(vendorId);
  if (!usage) {
    throw new NoWebhookError(
      `no enabled flow on ${target.label} uses ${vendorId} webhooks; vendors with webhooks here: ${[...usages(target).keys()].join(', ') || '(none)'}`,
    );
  }
  const shown = await describe(target, vendorId, usage, { showSecrets: false, log });
  const base = { vendor: vendorId, ...(shown.url ? { url: shown.url } : {}), events: shown.events };
  const connector: AnyConnector | undefined = connectorById(vendorId);
  const register = connector?.webhookSetup?.register;
  if (!register) return { ...base, registered: false, details: [], steps: shown.steps };
  if (!target.ingressUrl) {
    throw new WebhookUrlError(`${target.label} has no webhook ingress URL: nothing to register`);
  }
  const full = await describe(target, vendorId, usage, { showSecrets: true, log });
  if (!full.url || full.secretHidden) {
    throw new WebhookUrlError(
      `the ${vendorId} webhook URL needs a secret the vendor secret does not hold (${usage.receiver.route})`,
    );
  }
  const dryRun = options.dryRun ?? false;
  const result = await register(target.env(log), {
    title: `Millwright (${target.deployment.name})`,
    url: full.url,
    events: shown.events,
    dryRun,
  });
  return {
    ...base,
    registered: !dryRun,
    action: result.action,
    ...(result.id ? { id: result.id } : {}),
    details: result.details,
    steps: [],
  };
}
