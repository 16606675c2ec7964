/**
 * Echoed credentials in the forms vendors' frameworks actually write them: PHP's json_encode escapes
 * `/` as `\/` (a base64-ish key then reaches the raw body in a form neither as is nor JSON.stringify),
 * a `\uXXXX`-escaped JSON string (.NET's encoder writes `+` as `\u002B`), and the credential in a
 * response header (util.inspect of the error shows its headers). None may reach the thrown error
 * (message, causes, util.inspect) or a log line. credential-redaction.test.ts covers the plain, URL-encoded and cut-through forms.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
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
import { memoryLog, redactingLog } from '../../../functions/core/log.ts';
import { staticSecretSource } from '../../../functions/core/secrets.ts';
import { expectNoLeak } from '../../support/leaks.ts';

const EMAIL = 'integration@plant.example';
const PASSWORD = 'Pw/never+log-me-7f3c9a1e';
const SESSION_TOKEN = 'r:6f1d2c3b/4a5968778695a4b3c2d1e0f9';
const MM_KEY = 'mm/Key+0123456789abcdefGHIJ==';
const MW_KEY = 'mw/Key+9876543210fedcbaKLMN==';
const CM_KEY = 'cm/Key+13579bdf02468aceOPQR==';
const DP_KEY = 'dp/Key+2468ace013579bdfSTUV==';
const ALL = [SESSION_TOKEN, PASSWORD, MM_KEY, MW_KEY, CM_KEY, DP_KEY];

/** PHP json_encode: `/` written `\/`. */
const phpJson = (s: string) => JSON.stringify(s).slice(1, -1).replace(/\//g, '\\/');
/** A JSON encoder that escapes every non-alphanumeric character as `\uXXXX`. */
const unicodeJson = (s: string) =>
  s.replace(/[^A-Za-z0-9]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

const expectNoCredential = (text: string) => expectNoLeak(text, ALL);

/** Everything an error shows: messages of the cause chain and util.inspect (fields, headers, body). */
function shown(error: unknown): string {
  const out: string[] = [inspect(error, { depth: 8 })];
  for (let e: unknown = error; e instanceof Error; e = e.cause) out.push(`${e.name}: ${e.message}`);
  return out.join('\n');
}

type Form = 'php-json' | 'unicode-json' | 'response-header' | 'not-json-200';
let form: Form = 'php-json';
let server: Server;
let baseUrl: string;

const credentialOf = (headers: Record<string, string | string[] | undefined>): string => {
  const value = ['authorization', 'session-token', 'api-key']
    .map((h) => headers[h])
    .find((v): v is string => typeof v === 'string');
  return value?.replace(/^(Bearer|Token)\s+/, '') ?? 'none';
};

/** An answer (400, or a 200 that is not JSON) echoing `credential` in the current form. */
function echo(credential: string): { status: number; body: string; headers: Record<string, string> } {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  switch (form) {
    case 'not-json-200':
      // JSON.parse's SyntaxError quotes the text around where it stopped: here, the credential.
      return { status: 200, body: `${credential} accepted`, headers };
    case 'php-json':
      return { status: 400, body: `{"message":"credential ${phpJson(credential)} rejected"}`, headers };
    case 'unicode-json':
      return { status: 400, body: `{"message":"credential ${unicodeJson(credential)} rejected"}`, headers };
    case 'response-header':
      return {
        status: 400,
        body: '{"message":"rejected"}',
        headers: { ...headers, 'x-echo-credential': credential },
      };
  }
}

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
      const { status, body, headers } = echo(credentialOf(req.headers));
      res.writeHead(status, headers);
      res.end(body);
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
const calls = (log: ReturnType<typeof redactingLog>): Record<string, () => Promise<unknown>> => ({
  UpKeep: () =>
    new UpKeepClient({
      config: parseUpKeepConfig({ secretName: 'millwright/upkeep', baseUrl }),
      loadCredentials: async () => ({ email: EMAIL, password: PASSWORD }),
      http,
      log,
    }).getWorkOrder('wo-1'),
  MachineMetrics: () =>
    new MachineMetricsClient({
      baseUrl,
      secretName: 'mm',
      secrets: staticSecretSource({ mm: { apiKey: MM_KEY } }),
      http,
      log,
    }).downtimeReport({
      start: new Date('2026-11-02T08:00:00Z'),
      end: new Date('2026-11-02T08:05:00Z'),
      groupBy: ['machine'],
    }),
  'Mobility Work': () =>
    new MobilityWorkClient({
      config: parseMobilityWorkConfig({ secretName: 'mw', baseUrl }),
      loadApiKey: async () => MW_KEY,
      http,
      log,
    }).getNetworkSettings(),
  'Click Maint': () =>
    new ClickMaintClient({
      config: parseClickMaintConfig({ secretName: 'cm', baseUrl }),
      loadApiKey: async () => CM_KEY,
      http,
      log,
    }).listEntities(),
  Deepomatic: () =>
    new DeepomaticClient({
      config: parseDeepomaticConfig({ secretName: 'dp', baseUrl }),
      loadApiKey: async () => DP_KEY,
      http,
      log,
    }).getWorkOrder('wo-1'),
});

describe('a credential echoed in an escaped or encoded form', () => {
  for (const f of ['php-json', 'unicode-json', 'response-header', 'not-json-200'] as const) {
    for (const vendor of ['UpKeep', 'MachineMetrics', 'Mobility Work', 'Click Maint', 'Deepomatic']) {
      it(`secrets never logged: an answer from ${vendor} echoing the credential (${f}) leaves none of it in the error, its inspect or the log`, async () => {
        form = f;
        const lines = memoryLog();
        const log = redactingLog(lines);
        const call = calls(log)[vendor];
        const error = await call?.().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(Error);
        log.error('call failed', { error });
        expectNoCredential(shown(error));
        expectNoCredential(JSON.stringify(lines.lines));
      });
    }
  }
});
