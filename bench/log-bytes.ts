/**
 * What CloudWatch Logs bills for our log lines, by the byte: each line as the deployed functions
 * format it (Powertools with functions/runtime/lambda/log-format.ts, with a Lambda context of a
 * typical size), Lambda's own lines, and the HTTP API's access log line. CloudWatch Logs counts
 * each event's bytes plus 26 bytes of metadata.
 */
import type { LogFormatter } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import { newLogger } from '../functions/runtime/lambda/common.ts';

/** CloudWatch Logs' per-event metadata, billed with the event's bytes. */
export const CLOUDWATCH_EVENT_OVERHEAD = 26;

/** A deployed worker's name and ids are this long (CDK-generated names: stack, construct, hash). */
const FUNCTION_NAME = 'Millwright-FlowMobilityWorkStockAlertToUpkeep-WorkerAB12CD34-aBcDeFgHiJkL';
const REQUEST_ID = 'c6af9ac6-7b61-11e6-9a41-93e812345678';

/** The formatter the functions' logger uses (so `--baseline` prices an older tree's lines as it wrote them). */
const formatter = (
  newLogger(
    { vendors: {}, runtime: { logLevel: 'INFO', maxReceiveCount: 3, maxWebhookBytes: 1024 } },
    'bench',
  ) as unknown as { getLogFormatter(): LogFormatter }
).getLogFormatter();

/** The billed bytes of one application log line, formatted exactly as in Lambda. */
export function appLogLineBytes(service: string, message: string, extra?: unknown): number {
  const attributes = {
    logLevel: 'INFO',
    message,
    timestamp: new Date('2026-12-07T08:00:00.000Z'),
    serviceName: service,
    sampleRateValue: 0,
    awsRegion: 'us-east-1',
    environment: '',
    xRayTraceId: '1-5759e988-bd862e3fe1be46a994272793',
    lambdaContext: {
      functionName: FUNCTION_NAME,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${FUNCTION_NAME}`,
      memoryLimitInMB: 256,
      awsRequestId: REQUEST_ID,
      coldStart: false,
    },
  } as unknown as UnformattedAttributes;
  const additional = (typeof extra === 'object' && extra !== null ? extra : {}) as LogAttributes;
  const line = JSON.stringify(formatter.formatAttributes(attributes, additional).getAttributes());
  return Buffer.byteLength(line) + 1 + CLOUDWATCH_EVENT_OVERHEAD;
}

/**
 * Lambda's START, END and REPORT lines per invocation in its default plain-text format (the
 * `runtime.systemLogLevel` WARN setting drops all three).
 */
export const PLATFORM_TEXT_LINES = [
  `START RequestId: ${REQUEST_ID} Version: $LATEST`,
  `END RequestId: ${REQUEST_ID}`,
  `REPORT RequestId: ${REQUEST_ID}\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 256 MB\tMax Memory Used: 91 MB\t`,
];
export const PLATFORM_LOG_BYTES = PLATFORM_TEXT_LINES.reduce(
  (n, line) => n + Buffer.byteLength(line) + 1 + CLOUDWATCH_EVENT_OVERHEAD,
  0,
);

/** One HTTP API access log line in the stack's format (lib/constructs/ingress.ts), typical values. */
export const ACCESS_LOG_BYTES =
  Buffer.byteLength(
    JSON.stringify({
      requestId: 'Kx3XhgUxoAMEbWw=',
      ip: '203.0.113.10',
      requestTime: '07/Dec/2026:08:00:00 +0000',
      routeKey: 'POST /webhooks/mobility-work',
      status: '200',
      responseLength: '15',
      latencyMs: '41',
      integrationStatus: '200',
      integrationError: '-',
    }),
  ) + CLOUDWATCH_EVENT_OVERHEAD;
