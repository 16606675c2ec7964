/**
 * A vendor error body that echoes the credential it was sent (a session token, an API key, a
 * bearer token) must not carry that credential, whole or in part, into an error message (or its
 * cause chain), a log line, the run log or a claim record. A local HTTP server plays each vendor and
 * echoes every credential it receives three ways: as is, URL-encoded, and placed so that the
 * 300-character excerpt of the body cuts through it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ClickMaintClient } from '../../../functions/connectors/click-maint/client.ts';
import { parseClickMaintConfig } from '../../../functions/connectors/click-maint/config.ts';
import { DeepomaticClient } from '../../../functions/connectors/deepomatic/client.ts';
import { parseDeepomaticConfig } from '../../../functions/connectors/deepomatic/config.ts';
import { MachineMetricsClient } from '../../../functions/connectors/machinemetrics/client.ts';
import { MobilityWorkClient } from '../../../functions/connectors/mobility-work/client.ts';
import { parseMobilityWorkConfig } from '../../../functions/connectors/mobility-work/config.ts';
import { UpKeepClient } from '../../../functions/connectors/upkeep/client.ts';
import { parseUpKeepConfig } from '../../../functions/connectors/upkeep/config.ts';
import { once } from '../../../functions/core/claims.ts';
import { rememberCredential } from '../../../functions/core/errors.ts';
import { defineFlow } from '../../../functions/core/flow.ts';
import { memoryLog, redactingLog } from '../../../functions/core/log.ts';
import { staticSecretSource } from '../../../functions/core/secrets.ts';
import { createWorker } from '../../../functions/runtime/worker.ts';
import { flowEvent, testEnv } from '../../support/factories.ts';
import { onEach, testTrigger } from '../../support/flows.ts';
import { expectNoLeak } from '../../support/leaks.ts';
import { startTestState, type TestState } from '../../support/state.ts';

// Realistic shapes: UpKeep's `r:` session tokens, base64-ish API keys with `/` and `+`.
const SESSION_TOKEN = 'r:6f1d2c3b4a5968778695a4b3c2d1e0f9';
const PASSWORD = 'Pw/never+log-me-7f3c9a1e';
const MM_KEY = 'mm/Key+0123456789abcdefGHIJ==';
const MW_KEY = 'mw/Key+9876543210fedcbaKLMN==';
const CM_KEY = 'cm/Key+13579bdf02468aceOPQR==';
const DP_KEY = 'dp/Key+2468ace013579bdfSTUV==';
const ALL = [SESSION_TOKEN, PASSWORD, MM_KEY, MW_KEY, CM_KEY, DP_KEY];

const expectNoCredential = (text: string) => expectNoLeak(text, ALL);

/** The message of an error and of every cause under it. */
function messages(error: unknown): string {
  const out: string[] = [];
  for (let e: unknown = error; e instanceof Error; e = e.cause) out.push(`${e.name}: ${e.message}`);
  return out.join('\n');
}

/** The credentials a request carried: auth header values, without their scheme word. */
const credentialsOf = (headers: Record<string, string | string[] | undefined>): string[] =>
  ['authorization', 'session-token', 'api-key']
    .map((h) => headers[h])
    .filter((v): v is string => typeof v === 'string')
    .map((v) => v.replace(/^(Bearer|Token)\s+/, ''));

/** A body echoing `credential`: URL-encoded early, then as is where a 300-character cut splits it. */
function echoBody(credential: string): string {
  const head = `{"message":"session ${encodeURIComponent(credential)} rejected; `;
  const pad = 'x'.repeat(Math.max(0, 300 - head.length - 11 - Math.floor(credential.length / 2)));
  return `${head}${pad}credential ${credential} rejected"}`;
}

let server: Server;
let baseUrl: string;
let status = 500;
beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url?.startsWith('/auth')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            success: true,
            result: {
              sessionToken: SESSION_TOKEN,
              expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
            },
          }),
        );
        return;
      }
      const [credential = 'none'] = credentialsOf(req.headers);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(echoBody(credential));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

const http = { maxAttempts: 1, sleep: async () => undefined };
const upkeep = () =>
  new UpKeepClient({
    config: parseUpKeepConfig({ secretName: 'millwright/upkeep', baseUrl }),
    loadCredentials: async () => ({ email: 'integration@plant.example', password: PASSWORD }),
    http,
  });

const calls: Record<string, () => Promise<unknown>> = {
  'UpKeep (session token)': () => upkeep().getWorkOrder('wo-1'),
  'MachineMetrics (bearer API key)': () =>
    new MachineMetricsClient({
      baseUrl,
      secretName: 'mm',
      secrets: staticSecretSource({ mm: { apiKey: MM_KEY } }),
      http,
    }).downtimeReport({
      start: new Date('2026-11-02T08:00:00Z'),
      end: new Date('2026-11-02T08:05:00Z'),
      groupBy: ['machine'],
    }),
  'Mobility Work (Api-Key header)': () =>
    new MobilityWorkClient({
      config: parseMobilityWorkConfig({ secretName: 'mw', baseUrl }),
      loadApiKey: async () => MW_KEY,
      http,
    }).getNetworkSettings(),
  'Click Maint (bearer key)': () =>
    new ClickMaintClient({
      config: parseClickMaintConfig({ secretName: 'cm', baseUrl }),
      loadApiKey: async () => CM_KEY,
      http,
    }).listEntities(),
  'Deepomatic (Authorization: Token)': () =>
    new DeepomaticClient({
      config: parseDeepomaticConfig({ secretName: 'dp', baseUrl }),
      loadApiKey: async () => DP_KEY,
      http,
    }).getWorkOrder('wo-1'),
};

describe('a credential echoed in a vendor error body', () => {
  for (const code of [500, 400]) {
    for (const [vendor, call] of Object.entries(calls)) {
      it(`credential in the logs: a ${code} from ${vendor} echoing the credential leaves none of it in the error or its causes`, async () => {
        status = code;
        const error = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(Error);
        const text = messages(error);
        expect(text).toContain('[REDACTED]');
        expectNoCredential(text);
      });
    }
  }
});

describe('a credential echoed while a flow runs', () => {
  let t: TestState;
  beforeAll(async () => {
    t = await startTestState();
  });
  afterAll(() => t.close());

  it('credential in the logs: an UpKeep 500 echoing the session token reaches no log line, run-log entry or claim record', async () => {
    status = 500;
    const flow = defineFlow({
      id: 'echo-test-flow',
      description: 'reads an UpKeep work order under a claim',
      vendors: ['upkeep'],
      config: {} as never,
      triggers: [testTrigger(['test.read'])],
      setup: () => ({ client: upkeep() }),
      on: onEach(['test.read'], async (event, ctx) => {
        const { result } = await once(ctx.state, {
          key: `echo-test-flow:${event.id}`,
          perform: async () => ({ workOrderId: String((await ctx.deps.client.getWorkOrder('wo-1'))?.id) }),
        });
        return { outcome: 'done', message: 'read', effects: result };
      }),
    });
    const store = t.store();
    const log = memoryLog();
    const worker = createWorker({ flow, config: {}, env: testEnv(store, { log }), maxReceiveCount: 3 });
    const error = await worker
      .processRecord(JSON.stringify(flowEvent({ id: 'evt-echo-1', type: 'test.read' })), 1)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(Error);
    expectNoCredential(messages(error));

    expect(log.lines.some((l) => l.level === 'error')).toBe(true);
    expectNoCredential(JSON.stringify(log.lines));
    const runs = await store.listRuns('echo-test-flow');
    expect(runs.map((r) => r.outcome)).toEqual(['failed']);
    expect(runs[0]?.message).toContain('[REDACTED]');
    expectNoCredential(JSON.stringify(runs));
    // Everything in the table: the run log, the claim record, anything else written on the way.
    const items = await t.dynamo.client.send(new ScanCommand({ TableName: store.tableName }));
    expect(items.Items?.some((i) => i.pk?.S === 'CLAIM#echo-test-flow:evt-echo-1')).toBe(true);
    expectNoCredential(JSON.stringify(items.Items));
  });

  it('credential in the logs: the logger removes every credential a client was issued, from the message and the extras', () => {
    const lines = memoryLog();
    const log = redactingLog(lines);
    rememberCredential('r:issued-token-0000111122223333');
    log.error('upkeep said: session r:issued-token-0000111122223333 rejected', {
      error: new Error('session r%3Aissued-token-0000111122223333 rejected'),
      nested: { body: ['r:issued-token-0000111122223333'] },
    });
    expect(JSON.stringify(lines.lines)).not.toContain('issued-token');
    expect(lines.lines[0]?.message).toBe('upkeep said: session [REDACTED] rejected');
  });
});
