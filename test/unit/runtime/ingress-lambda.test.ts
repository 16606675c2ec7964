/**
 * The deployed webhook ingress behind either endpoint (`runtime.webhookEndpoint`): the HTTP API
 * event (a matched route key and path parameters) and the Lambda function URL event (every request
 * as `routeKey: "$default"`, the route in `rawPath`) reach the same verification and the same queue
 * message. Both shapes follow payload format 2.0 as AWS documents it
 * (https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html).
 */
import { randomBytes } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { signMobilityWorkWebhook } from '../../../functions/connectors/mobility-work/signature.ts';
import {
  MW_WEBHOOK_ROUTE,
  mobilityWorkWebhook,
} from '../../../functions/connectors/mobility-work/webhook.ts';
import { UPKEEP_WEBHOOK_ROUTE, upkeepWebhook } from '../../../functions/connectors/upkeep/webhook.ts';
import { ingressLambda } from '../../../functions/runtime/lambda/ingress.ts';
import { NETWORK_ID, RICH } from '../mobility-work/fixtures.ts';

const dynamo = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const secrets = mockClient(SecretsManagerClient);

const PREFIX = 'https://sqs.eu-west-1.amazonaws.com/123456789012/';
const MW_SECRET = 'whsec_lambda_0123456789abcdef';
const UPKEEP_TOKEN = 'wh-0f8e2d4c6b8a0e2d4c6b8a0e2d4c6b8a0e2d';
const MW_SECRET_NAME = 'millwright/mobility-work';
const UPKEEP_SECRET_NAME = 'millwright/upkeep';
const URL_ID = 'abcdefghijklmnopqrstuvwxyz012345';

const context = {
  functionName: 'ingress',
  awsRequestId: 'req-1',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:ingress',
  getRemainingTimeInMillis: () => 15_000,
} as unknown as Context;

/**
 * What lib/entries.ts bundles into the ingress: vendors, runtime settings, routing (queue names).
 * Logging at DEBUG, so a test sees every line it might write.
 */
const handler = () =>
  ingressLambda([mobilityWorkWebhook, upkeepWebhook], {
    vendors: {
      'mobility-work': {
        baseUrl: 'https://api.mobility-work.com',
        secretName: MW_SECRET_NAME,
        networkId: NETWORK_ID,
        webhook: { signatureScheme: 't.nonce.body', toleranceSeconds: 300 },
      },
      upkeep: { baseUrl: 'https://api.onupkeep.com/api/v2', secretName: UPKEEP_SECRET_NAME },
    },
    runtime: { logLevel: 'DEBUG', maxReceiveCount: 3, maxWebhookBytes: 262_144 },
    routing: {
      'mobility-work.TaskWasCompleted': ['mw-queue'],
      'upkeep.WORK_ORDER_CREATED': ['upkeep-queue'],
    },
  });

interface Request {
  method: string;
  /** The path as sent (percent-encoded). */
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** A signed Mobility Work delivery, as MW sends it. */
function mwDelivery(): Request {
  const body = JSON.stringify(RICH.TaskWasCompleted);
  const signature = signMobilityWorkWebhook({
    secret: MW_SECRET,
    scheme: 't.nonce.body',
    t: Math.floor(Date.now() / 1000),
    nonce: randomBytes(20).toString('hex'),
    rawBody: body,
  });
  return {
    method: 'POST',
    path: '/webhooks/mobility-work',
    headers: { 'content-type': 'application/json', 'x-mw-signature': signature },
    body,
  };
}

/** An UpKeep delivery: authenticated by the token in its URL. */
function upkeepDelivery(token = UPKEEP_TOKEN): Request {
  return {
    method: 'POST',
    path: `/webhooks/upkeep/${token}`,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      event: 'WORK_ORDER_CREATED',
      data: { id: 'wo-1', updatedAt: '2026-11-02T08:45:00.000Z' },
    }),
  };
}

const requestContext = (req: Request, routeKey: string, apiId: string, domainName: string) => ({
  accountId: routeKey === '$default' ? 'anonymous' : '123456789012',
  apiId,
  domainName,
  domainPrefix: apiId,
  http: {
    method: req.method,
    path: req.path,
    protocol: 'HTTP/1.1',
    sourceIp: '203.0.113.7',
    userAgent: 'vendor-webhooks/1.0',
  },
  requestId: 'c2d8a0f1-0000-4000-8000-000000000001',
  routeKey,
  stage: '$default',
  time: '02/Nov/2026:08:45:01 +0000',
  timeEpoch: 1793609101000,
});

/** The event API Gateway's HTTP API sends for a matched route (payload format 2.0). */
function httpApiEvent(req: Request, routeKey: string, pathParameters?: Record<string, string>) {
  const domainName = 'a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com';
  return {
    version: '2.0',
    routeKey,
    rawPath: req.path,
    rawQueryString: '',
    headers: { ...req.headers, host: domainName },
    requestContext: requestContext(req, routeKey, 'a1b2c3d4e5', domainName),
    ...(pathParameters ? { pathParameters } : {}),
    body: req.body,
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

/**
 * The event a function URL sends: routeKey `$default`, no pathParameters, headers lower-cased, the
 * body base64-encoded unless its content type is text-like (JSON is sent as is).
 */
function functionUrlEvent(req: Request, options: { base64?: boolean } = {}) {
  const domainName = `${URL_ID}.lambda-url.eu-west-1.on.aws`;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: req.path,
    rawQueryString: '',
    headers: {
      ...req.headers,
      host: domainName,
      'x-amzn-tls-version': 'TLSv1.3',
      'x-forwarded-proto': 'https',
      'x-forwarded-port': '443',
      'x-forwarded-for': '203.0.113.7',
      'x-amzn-trace-id': 'Root=1-67891233-abcdef012345678912345678',
    },
    requestContext: requestContext(req, '$default', URL_ID, domainName),
    body: options.base64 ? Buffer.from(req.body).toString('base64') : req.body,
    isBase64Encoded: options.base64 ?? false,
  } as unknown as APIGatewayProxyEventV2;
}

/** The handler's answer, with what reached SQS and DynamoDB. */
async function invoke(event: APIGatewayProxyEventV2) {
  const out = (await handler()(event, context)) as { statusCode: number; headers: Json; body: string };
  const sent = sqs.commandCalls(SendMessageBatchCommand).map((c) => {
    const { QueueUrl, Entries } = c.args[0].input;
    return { QueueUrl, bodies: (Entries ?? []).map((e) => JSON.parse(e.MessageBody ?? '') as Json) };
  });
  const marks = dynamo.commandCalls(PutCommand).map((c) => c.args[0].input.Item?.pk);
  return {
    statusCode: out.statusCode,
    body: JSON.parse(out.body) as Json,
    headers: out.headers,
    sent,
    marks,
  };
}
type Json = Record<string, unknown>;

/** Every line the handler logged (Powertools writes info to stdout, warnings and errors to stderr). */
const logged = (): string =>
  [process.stdout.write, process.stderr.write]
    .flatMap((write) => jest.mocked(write).mock.calls as unknown[][])
    .map((c) => String(c[0]))
    .join('');

beforeEach(() => {
  process.env.TABLE_NAME = 'state';
  process.env.QUEUE_URL_PREFIX = PREFIX;
  dynamo.reset();
  sqs.reset();
  secrets.reset();
  dynamo.on(PutCommand).resolves({});
  dynamo.on(GetCommand).resolves({});
  sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  secrets
    .on(GetSecretValueCommand, { SecretId: MW_SECRET_NAME })
    .resolves({ SecretString: JSON.stringify({ apiKey: 'k', webhookSecrets: [MW_SECRET] }) });
  secrets.on(GetSecretValueCommand, { SecretId: UPKEEP_SECRET_NAME }).resolves({
    SecretString: JSON.stringify({ email: 'ops@plant.example', password: 'pw', webhookToken: UPKEEP_TOKEN }),
  });
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
});

afterEach(() => {
  jest.restoreAllMocks();
  delete process.env.TABLE_NAME;
  delete process.env.QUEUE_URL_PREFIX;
});

describe('ingressLambda behind a function URL', () => {
  it('enqueues a signed Mobility Work webhook exactly as behind the HTTP API', async () => {
    const req = mwDelivery();
    const viaApi = await invoke(httpApiEvent(req, MW_WEBHOOK_ROUTE));
    dynamo.resetHistory();
    sqs.resetHistory();
    const viaUrl = await invoke(functionUrlEvent(req));

    expect(viaUrl.statusCode).toBe(200);
    expect(viaUrl.body).toMatchObject({ accepted: 1, enqueued: 1 });
    expect(viaUrl.sent).toEqual([
      {
        QueueUrl: `${PREFIX}mw-queue`,
        bodies: [expect.objectContaining({ type: 'mobility-work.TaskWasCompleted' })],
      },
    ]);
    expect(viaUrl.marks).toEqual(['DELIVERY#mobility-work']);
    expect(viaUrl).toEqual(viaApi);
  });

  it('fills the UpKeep token from the path, so the URL token authenticates it as before', async () => {
    const viaApi = await invoke(
      httpApiEvent(upkeepDelivery(), UPKEEP_WEBHOOK_ROUTE, { token: UPKEEP_TOKEN }),
    );
    dynamo.resetHistory();
    sqs.resetHistory();
    const viaUrl = await invoke(functionUrlEvent(upkeepDelivery()));

    expect(viaUrl.statusCode).toBe(202);
    expect(viaUrl.sent).toEqual([
      {
        QueueUrl: `${PREFIX}upkeep-queue`,
        bodies: [expect.objectContaining({ type: 'upkeep.WORK_ORDER_CREATED', subject: 'wo-1' })],
      },
    ]);
    expect(viaUrl).toEqual(viaApi);
    expect(logged()).not.toContain(UPKEEP_TOKEN);
  });

  it('secrets in the logs: event logging switched on for Powertools (POWERTOOLS_LOGGER_LOG_EVENT) still logs no URL token, signature or body', async () => {
    process.env.POWERTOOLS_LOGGER_LOG_EVENT = 'true';
    try {
      const viaApi = await invoke(
        httpApiEvent(upkeepDelivery(), UPKEEP_WEBHOOK_ROUTE, { token: UPKEEP_TOKEN }),
      );
      const viaUrl = await invoke(functionUrlEvent(upkeepDelivery()));
      const mw = mwDelivery();
      const signed = await invoke(functionUrlEvent(mw));
      expect([viaApi.statusCode, viaUrl.statusCode, signed.statusCode]).toEqual([202, 202, 200]);
      expect(logged()).not.toContain(UPKEEP_TOKEN);
      expect(logged()).not.toContain(mw.headers['x-mw-signature']);
    } finally {
      delete process.env.POWERTOOLS_LOGGER_LOG_EVENT;
    }
  });

  it('decodes a base64 body (a function URL encodes non-text content types) before verifying it', async () => {
    const res = await invoke(functionUrlEvent(mwDelivery(), { base64: true }));
    expect(res.statusCode).toBe(200);
    expect(res.sent).toHaveLength(1);
  });

  it('refuses a wrong signature with 401, and a wrong UpKeep token, before anything is written', async () => {
    const req = mwDelivery();
    const forged = { ...req, body: req.body.replace('Compl00001', 'Compl00002') };
    expect((await invoke(functionUrlEvent(forged))).statusCode).toBe(401);
    const bad = await invoke(functionUrlEvent(upkeepDelivery('wh-ffffffffffffffffffffffffffffffffffff')));
    expect(bad.statusCode).toBe(401);
    expect(bad.sent).toEqual([]);
    expect(bad.marks).toEqual([]);
  });

  it.each([
    ['/webhooks/unknown', 'an unknown path'],
    [`/webhooks/upkeep/${UPKEEP_TOKEN}/extra`, 'an extra segment'],
    ['/webhooks/upkeep/', 'a route without its token'],
  ])('answers 404 for %s (%s), naming no path and touching nothing', async (path) => {
    const res = await invoke(functionUrlEvent({ ...upkeepDelivery(), path }));
    expect(res).toMatchObject({ statusCode: 404, body: { message: 'no webhook route for this path' } });
    expect(res.sent).toEqual([]);
    expect(secrets.calls()).toHaveLength(0);
    expect(logged()).not.toContain(UPKEEP_TOKEN);
    expect(logged()).toContain('webhook request matched no route');
  });

  it('answers 405 with Allow for a webhook path under another method, never logging the path', async () => {
    const res = await invoke(functionUrlEvent({ ...upkeepDelivery(), method: 'GET' }));
    expect(res.statusCode).toBe(405);
    expect(res.headers).toMatchObject({ allow: 'POST' });
    expect(res.body.message).toBe('method GET not allowed on this webhook route (use POST)');
    expect(res.sent).toEqual([]);
    expect(logged()).not.toContain(UPKEEP_TOKEN);
  });

  it('answers 400 for a malformed percent-encoding in the token', async () => {
    const res = await invoke(functionUrlEvent(upkeepDelivery('wh-%E0%A4%A')));
    expect(res).toMatchObject({
      statusCode: 400,
      body: { message: 'malformed percent-encoding in the path' },
    });
    expect(secrets.calls()).toHaveLength(0);
  });
});
