/**
 * A failure no retry can mend reaches the dead-letter queue on its first delivery, on real local
 * engines (local SQS with redrive, dynalite, the UpKeep simulator): no second call to the vendor,
 * the reason on the message, and a run-log entry that says why.
 */
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MW_EVENT } from '../../functions/connectors/mobility-work/events.ts';
import { sandboxControl } from '../../sandbox/control.ts';
import type { Sandbox } from '../../sandbox/runtime.ts';
import { queueDepth } from '../../sandbox/sqs.ts';
import { startTestSandbox } from '../support/sandbox.ts';

const FLOW = 'mobility-work-task-to-upkeep-work-order-status';
let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startTestSandbox();
});
afterAll(async () => {
  await sandbox?.close();
});

describe('a non-retryable failure', () => {
  it('is dead-lettered on the first delivery, with its reason, and the vendor is called once', async () => {
    const upkeep = sandbox.simulators.upkeep?.url ?? '';
    // The integration user lost access to work orders: UpKeep answers 403 however often we ask.
    await sandboxControl(sandbox).upkeepFault({ match: 'GET /api/v2/work-orders/', status: 403, times: 10 });
    await sandbox.send(FLOW, [
      {
        id: 'mobility-work:net:started-1',
        type: MW_EVENT.TaskWasStarted,
        source: 'mobility-work.webhook',
        occurredAt: '2026-11-02T08:00:00.000Z',
        subject: 'task-1',
        data: {
          _event: 'TaskWasStarted',
          _idempotencyKey: 'started-1',
          taskId: 'task-1',
          metadata: { upkeepWorkOrderId: 'WO-gone' },
          networkId: '17df9a0f-5c04-43c8-b010-b48e1237e6ff',
        },
      },
    ]);
    await sandbox.drain({ timeoutMs: 20_000 });

    const runs = await sandbox.state.listRuns(FLOW);
    expect(runs.map((r) => r.outcome)).toEqual(['dead-lettered']);
    expect(runs[0]?.message).toMatch(
      /^not retryable, moved to the dead-letter queue on attempt 1: .*HTTP 403/,
    );

    const { requests } = (await (await fetch(`${upkeep}/_sandbox/requests`)).json()) as {
      requests: string[];
    };
    const reads = requests.filter((line) => line.startsWith('GET /api/v2/work-orders/'));
    expect(reads).toHaveLength(1);

    const queues = sandbox.flows.get(FLOW)?.queues;
    if (!queues) throw new Error(`no queues for ${FLOW}`);
    expect(await queueDepth(sandbox.sqs.client, queues.dlqUrl)).toEqual({
      visible: 1,
      inFlight: 0,
      delayed: 0,
    });
    const out = await sandbox.sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: queues.dlqUrl,
        MessageAttributeNames: ['All'],
        VisibilityTimeout: 0,
      }),
    );
    const [message] = out.Messages ?? [];
    expect(JSON.parse(message?.Body ?? '{}').id).toBe('mobility-work:net:started-1');
    expect(message?.MessageAttributes?.deadLetterReason?.StringValue).toMatch(/HTTP 403/);
  });
});
