/**
 * The root stack's outputs: what `millwright --stack NAME` reads (DescribeStacks) to find every
 * resource of a deployment. The stack (lib/stack.ts) writes them and the operator
 * (operator/stack-target.ts) reads them, both through this module, so the names cannot drift.
 * No CDK import here: the CLI loads it without aws-cdk-lib.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod/mini';

/**
 * Bumped when the outputs change in a way an older CLI would misread; the CLI refuses a stack whose
 * version differs from its own.
 */
export const OPERATOR_VERSION = 1;

export const OUTPUT_KEYS = {
  table: 'TableName',
  deployment: 'DeploymentName',
  operatorVersion: 'OperatorVersion',
  /** The webhook API's URL, without a trailing slash. */
  apiUrl: 'ApiUrl',
  /** A console link to the CloudWatch dashboard. */
  dashboardUrl: 'DashboardUrl',
} as const;

/** Every root output whose key starts with this is one flow's (the operator parses them all). */
export const FLOW_OUTPUT_PREFIX = 'Flow';
export const WEBHOOK_OUTPUT_PREFIX = 'WebhookUrl';

/** CloudFormation: an output's logical id is alphanumeric and at most 255 characters. */
export const MAX_OUTPUT_KEY = 255;
/** CloudFormation allows 200 outputs per template. */
export const MAX_OUTPUTS = 200;
/**
 * CloudFormation's quotas page gives no size for an output value; 4,096 is its size for parameter
 * values and custom resource data, and what we keep each output under.
 */
export const MAX_OUTPUT_VALUE = 4096;

const KEBAB = /^[a-z][a-z0-9]*(-[a-z][a-z0-9]*)*$/;

/**
 * `machinemetrics-downtime` -> `MachinemetricsDowntime`. Lossless only for lower-case kebab ids whose
 * parts start with a letter (`a-1b` and `a1b` would both give `A1b`); anything else, or too long a
 * key, keeps an alphanumeric prefix and gets a hash of the id, so two ids never share a key.
 */
export function outputKey(prefix: string, id: string): string {
  const pascal = id
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
  if (KEBAB.test(id) && prefix.length + pascal.length <= MAX_OUTPUT_KEY) return `${prefix}${pascal}`;
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 10);
  const readable = pascal
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, MAX_OUTPUT_KEY - prefix.length - hash.length - 1);
  return `${prefix}${readable}H${hash}`;
}

export const flowOutputKey = (flowId: string): string => outputKey(FLOW_OUTPUT_PREFIX, flowId);
export const webhookOutputKey = (vendor: string): string => outputKey(WEBHOOK_OUTPUT_PREFIX, vendor);

/** The value of a flow's output (compact JSON), as the stack writes it. */
export const flowOutputSchema = z.object({
  flow: z.string().check(z.minLength(1)),
  queue: z.string().check(z.minLength(1)),
  dlq: z.string().check(z.minLength(1)),
  worker: z.string().check(z.minLength(1)),
  schedules: z.array(
    z.object({
      source: z.string(),
      name: z.string().check(z.minLength(1)),
      group: z.string().check(z.minLength(1)),
    }),
  ),
});
export type FlowOutput = z.infer<typeof flowOutputSchema>;

/** The longest an AWS name or URL in a flow output can be (each service's own limit). */
const LIMITS = {
  /** `https://sqs.<region>.<url suffix>/<12-digit account>/<queue name>`: region and suffix bounded generously. */
  queueUrl: (queueName: string) => 'https://sqs.'.length + 30 + 1 + 20 + 1 + 12 + 1 + queueName.length,
  /** Lambda function names: 64 characters. */
  functionName: 64,
  /** EventBridge Scheduler schedule and group names: 64 characters. */
  scheduleName: 64,
} as const;

/**
 * The longest the flow's output value can be once deployed: the output is a token at synth, so the
 * stack checks this bound against MAX_OUTPUT_VALUE instead.
 */
export function flowOutputBound(flowId: string, queueName: string, sourceIds: readonly string[]): number {
  const x = (n: number) => 'x'.repeat(n);
  const worst: FlowOutput = {
    flow: flowId,
    queue: x(LIMITS.queueUrl(queueName)),
    dlq: x(LIMITS.queueUrl(`${queueName}-dlq`)),
    worker: x(LIMITS.functionName),
    schedules: sourceIds.map((source) => ({
      source,
      name: x(LIMITS.scheduleName),
      group: x(LIMITS.scheduleName),
    })),
  };
  return JSON.stringify(worst).length;
}
