/**
 * The sandbox's stand-in for DynamoDB's Time to Live: dynalite never deletes an item past its `ttl`
 * (epoch seconds), so a sandbox left running for weeks only grows and its run queries list entries
 * past the retention. Every `intervalMs` one sweep scans a bounded number of pages (resuming where
 * the last sweep stopped, so a big table is covered over several sweeps) for items whose `ttl` is
 * past, and deletes each with the same condition: an item renewed since the scan (an expired
 * delivery mark or nonce overwritten, a claim taken again) is left alone. BatchWriteItem takes no
 * condition, hence single conditional deletes, a page at a time.
 */

import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { MillwrightError } from '../functions/core/errors.ts';
import type { Log } from '../functions/core/log.ts';

export interface TtlSweepOptions {
  /** The state store's time (the sandbox clock when state follows it): what "past" means. */
  now: () => Date;
  /** How often a sweep runs (default 10 minutes; DynamoDB itself takes up to a few days). */
  intervalMs?: number;
  /** Items read per Scan page (default 250). */
  pageSize?: number;
  /** Pages per sweep (default 8): the bound on one sweep's work. */
  maxPages?: number;
  log?: Log;
  /** Timers, injectable for tests (default setInterval/clearInterval, unref'd). */
  timers?: { repeat(run: () => void, ms: number): () => void };
}

export interface TtlSweepResult {
  scanned: number;
  deleted: number;
  /** The sweep reached the end of the table (the next one starts over). */
  wrapped: boolean;
}

export interface TtlSweeper {
  /** One bounded sweep now (the timer's work; tests call it directly). */
  sweep(): Promise<TtlSweepResult>;
  /** Stop the timer and wait for a sweep in progress. */
  stop(): Promise<void>;
}

/** A sweep failed: logged by the timer, which tries again at its next tick. */
export class TtlSweepError extends MillwrightError {}

const realTimers: NonNullable<TtlSweepOptions['timers']> = {
  repeat(run, ms) {
    const timer = setInterval(run, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};

export function startTtlSweeper(
  client: DynamoDBClient,
  tableName: string,
  options: TtlSweepOptions,
): TtlSweeper {
  const pageSize = options.pageSize ?? 250;
  const maxPages = options.maxPages ?? 8;
  let cursor: Record<string, AttributeValue> | undefined;
  let running: Promise<TtlSweepResult> | undefined;
  let stopped = false;

  const deleteIfExpired = async (
    key: Record<string, AttributeValue>,
    nowSeconds: number,
  ): Promise<number> => {
    try {
      await client.send(
        new DeleteItemCommand({
          TableName: tableName,
          Key: key,
          ConditionExpression: '#ttl < :now',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':now': { N: String(nowSeconds) } },
        }),
      );
      return 1;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 0; // renewed since the scan
      throw error;
    }
  };

  const sweepOnce = async (): Promise<TtlSweepResult> => {
    const nowSeconds = Math.floor(options.now().getTime() / 1000);
    const result: TtlSweepResult = { scanned: 0, deleted: 0, wrapped: false };
    try {
      for (let page = 0; page < maxPages && !stopped; page++) {
        const out = await client.send(
          new ScanCommand({
            TableName: tableName,
            Limit: pageSize,
            ExclusiveStartKey: cursor,
            FilterExpression: '#ttl < :now',
            ProjectionExpression: 'pk, sk',
            ExpressionAttributeNames: { '#ttl': 'ttl' },
            ExpressionAttributeValues: { ':now': { N: String(nowSeconds) } },
          }),
        );
        result.scanned += out.ScannedCount ?? 0;
        const deleted = await Promise.all((out.Items ?? []).map((key) => deleteIfExpired(key, nowSeconds)));
        result.deleted += deleted.reduce((a, b) => a + b, 0);
        cursor = out.LastEvaluatedKey;
        if (!cursor) {
          result.wrapped = true;
          break;
        }
      }
    } catch (error) {
      throw new TtlSweepError(`TTL sweep of ${tableName} failed`, { cause: error });
    }
    return result;
  };

  const sweep = (): Promise<TtlSweepResult> => {
    // One sweep at a time: a slow one makes the next tick wait for it rather than overlap.
    if (!running) running = sweepOnce().finally(() => (running = undefined));
    return running;
  };

  const cancel = (options.timers ?? realTimers).repeat(
    () => {
      sweep().then(
        (r) => {
          if (r.deleted > 0) options.log?.debug('TTL sweep', { table: tableName, ...r });
        },
        (error: unknown) =>
          options.log?.warn('TTL sweep failed; retried at the next tick', { error: String(error) }),
      );
    },
    options.intervalMs ?? 10 * 60_000,
  );

  return {
    sweep,
    async stop() {
      stopped = true;
      cancel();
      await running?.catch(() => undefined);
    },
  };
}
