/**
 * Every Lambda log line is compact: the fields CloudWatch already knows from the log group
 * (function name, ARN, memory) are left out, since Logs bills ingestion by the byte (issue 14);
 * the request id, trace id and the line's own keys stay.
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { Context } from 'aws-lambda';
import { newLogger } from '../../../functions/runtime/lambda/common.ts';

const FUNCTION_NAME = 'Millwright-FlowMobilityWorkStockAlertToUpkeep-WorkerAB12CD34-aBcDeFgHiJkL';
const context = {
  functionName: FUNCTION_NAME,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${FUNCTION_NAME}`,
  memoryLimitInMB: '256',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;
const settings = {
  vendors: {},
  runtime: { logLevel: 'INFO' as const, maxReceiveCount: 3, maxWebhookBytes: 1024 },
};

let written: string[] = [];
beforeEach(() => {
  written = [];
  process.env._X_AMZN_TRACE_ID = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
});
afterEach(() => {
  jest.restoreAllMocks();
  delete process.env._X_AMZN_TRACE_ID;
});

const lines = () =>
  written
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('the Lambda log line', () => {
  it('keeps level, message, time, service, request and trace ids and the extra keys, and nothing the log group repeats', () => {
    const logger = newLogger(settings, 'mobility-work-stock-alert-to-upkeep');
    logger.addContext(context);
    logger.info('done: 1 part', { eventId: 'mobility-work:n:1', outcome: 'done', ms: 12 });
    const [line] = lines();
    expect(line).toEqual({
      level: 'INFO',
      message: 'done: 1 part',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      service: 'mobility-work-stock-alert-to-upkeep',
      function_request_id: context.awsRequestId,
      xray_trace_id: '1-5759e988-bd862e3fe1be46a994272793',
      eventId: 'mobility-work:n:1',
      outcome: 'done',
      ms: 12,
    });
    expect(written.join('')).not.toContain(FUNCTION_NAME);
  });

  it('says cold_start only on the first invocation of an execution environment', () => {
    const logger = newLogger(settings, 'svc');
    logger.addContext(context);
    logger.info('first');
    logger.addContext(context);
    logger.info('second');
    const [first, second] = lines();
    // Powertools tracks cold starts per process: which of the two is cold depends on the tests
    // before; only a true value is ever written.
    for (const line of [first, second])
      expect(line?.cold_start === undefined || line?.cold_start === true).toBe(true);
    expect(second?.cold_start).toBeUndefined();
  });

  it('is at most 60% of the default Powertools line for a worker outcome', async () => {
    const { Logger } = await import('@aws-lambda-powertools/logger');
    const extra = {
      eventId: 'mobility-work:17df9a0f:4141399245',
      eventType: 'mobility-work.SparePartWasRestocked',
      outcome: 'skipped',
      ms: 10,
    };
    const standard = new Logger({ serviceName: 'svc', logLevel: 'INFO' });
    standard.addContext(context);
    standard.info('skipped: BENCH-0: stock 6 is not above the minimum', extra);
    const before = written.join('').length;
    written = [];
    const compact = newLogger(settings, 'svc');
    compact.addContext(context);
    compact.info('skipped: BENCH-0: stock 6 is not above the minimum', extra);
    const after = written.join('').length;
    expect(after / before).toBeLessThanOrEqual(0.6);
  });
});
