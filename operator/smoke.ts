/**
 * `millwright smoke`: after a deploy (or against the sandbox), prove each piece a flow depends on
 * answers as it should, without changing anything:
 * - each configured vendor's secret is readable and has the shape its connector expects;
 * - each vendor accepts those credentials on one cheap read (the connector's `probe`);
 * - each webhook route refuses an unsigned request with 401 (the route exists and checks auth);
 * - each poller can read its vendor: a dry poll, i.e. the first step of the live poll from the stored
 *   watermark, with nothing enqueued and no state saved (the live watermark does not move, unlike
 *   `runPoll`; and unlike a dry-run backfill it works for sources that cannot backfill).
 */
import { randomBytes } from 'node:crypto';
import { connectorById } from '../functions/connectors/index.ts';
import type { AnyConnector } from '../functions/core/connector.ts';
import type { PollSource, ScheduleTrigger, WebhookReceiver } from '../functions/core/flow.ts';
import { type Log, silentLog } from '../functions/core/log.ts';
import { readSecret } from '../functions/core/secrets.ts';
import { loadSourceState } from '../functions/runtime/poll-state.ts';
import { livePollStateKey } from '../functions/runtime/shared-poll.ts';
import type { Target } from './target.ts';

export type SmokeKind = 'secret' | 'auth' | 'webhook' | 'poll';

export interface SmokeCheck {
  /** `secret: UpKeep`, `auth: UpKeep`, `webhook: UpKeep`, `poll: <flow>/<source>`. */
  name: string;
  kind: SmokeKind;
  ok: boolean;
  /** What was checked and seen (the error, when it failed). */
  detail: string;
}

export interface SmokeReport {
  target: string;
  ok: boolean;
  checks: SmokeCheck[];
}

export interface SmokeOptions {
  log?: Log;
  /** How long one webhook request may take (default 10 s). */
  timeoutMs?: number;
}

const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

async function check(kind: SmokeKind, name: string, work: () => Promise<string>): Promise<SmokeCheck> {
  try {
    return { name, kind, ok: true, detail: await work() };
  } catch (error) {
    return { name, kind, ok: false, detail: describeError(error) };
  }
}

/** The webhook receivers the enabled flows use, one per route (what the stack's ingress serves). */
function receivers(target: Target): WebhookReceiver[] {
  const byRoute = new Map<string, WebhookReceiver>();
  for (const { flow } of target.flows.values()) {
    for (const trigger of flow.triggers) {
      if (trigger.kind === 'webhook') byRoute.set(trigger.receiver.route.trim(), trigger.receiver);
    }
  }
  return [...byRoute.values()];
}

/** POST an empty JSON body with no signature (and a random wrong value in each path parameter). */
async function unsignedRequest(ingressUrl: string, route: string, timeoutMs: number): Promise<string> {
  const [method = 'POST', path = '/'] = route.trim().split(/\s+/);
  const wrong = `smoke-${randomBytes(12).toString('hex')}`;
  const url = `${ingressUrl}${path.replace(/\{\w+\}/g, wrong)}`;
  const response = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json' },
    body: '{}',
    signal: AbortSignal.timeout(timeoutMs),
  });
  await response.arrayBuffer();
  if (response.status !== 401) {
    throw new Error(`${route} answered ${response.status} to an unsigned request (expected 401)`);
  }
  return `${route} answered 401 to an unsigned request`;
}

/** Run every check; never throws for a failing check (each says why), only for a broken target. */
export async function smokeCheck(target: Target, options: SmokeOptions = {}): Promise<SmokeReport> {
  const log = options.log ?? silentLog;
  const env = target.env(log);
  const checks: SmokeCheck[] = [];
  const vendors = target.deployment.vendors as Record<string, { secretName: string } | undefined>;

  for (const [id, settings] of Object.entries(vendors)) {
    const connector: AnyConnector | undefined = connectorById(id);
    if (!connector || !settings) continue;
    checks.push(
      await check('secret', `secret: ${connector.name}`, async () => {
        await readSecret(env.secrets, settings.secretName, connector.secret, { refresh: true });
        return `${settings.secretName} readable and valid`;
      }),
    );
    const probe = connector.probe;
    checks.push(
      probe
        ? await check('auth', `auth: ${connector.name}`, () => probe(env))
        : { name: `auth: ${connector.name}`, kind: 'auth', ok: true, detail: 'no probe (not checked)' },
    );
  }

  const timeoutMs = options.timeoutMs ?? 10_000;
  for (const receiver of receivers(target)) {
    const name = `webhook: ${connectorById(receiver.vendor)?.name ?? receiver.vendor}`;
    const ingressUrl = target.ingressUrl;
    checks.push(
      ingressUrl
        ? await check('webhook', name, () => unsignedRequest(ingressUrl, receiver.route, timeoutMs))
        : { name, kind: 'webhook', ok: false, detail: 'the target has no webhook ingress URL' },
    );
  }

  const enabled = [...target.flows.values()].map((f) => ({ flow: f.flow, config: f.config }));
  for (const [flowId, resources] of target.flows) {
    for (const [index, trigger] of resources.flow.triggers.entries()) {
      if (trigger.kind !== 'schedule') continue;
      const { source, options: sourceOptions } = trigger as ScheduleTrigger;
      // A shared poll's live state is its group's (runtime/shared-poll.ts).
      const key = livePollStateKey(enabled, flowId, index);
      checks.push(
        await check('poll', `poll: ${flowId}/${source.id}`, () =>
          dryPoll(target, key, source, sourceOptions(resources.config), log),
        ),
      );
    }
  }
  return { target: target.label, ok: checks.every((c) => c.ok), checks };
}

/** The first step of the live poll, from the stored state; nothing enqueued, nothing saved. */
async function dryPoll(
  target: Target,
  key: string,
  // biome-ignore lint/suspicious/noExplicitAny: options, state and deps are the source's own.
  source: PollSource<any, any, any>,
  options: unknown,
  log: Log,
): Promise<string> {
  const env = target.env(log);
  const { state } = await loadSourceState<unknown>(target.state, key, source);
  for await (const step of source.poll({ state, options, now: env.now(), deps: source.connect(env), log })) {
    // One step proves the read; leaving the loop ends the source's generator.
    return `dry poll read its vendor (${step.events.length} event(s) seen, nothing enqueued or saved): ${step.summary}`;
  }
  return 'dry poll read its vendor: nothing to evaluate yet (nothing enqueued or saved)';
}
