/**
 * The webhook ingress: one HTTP API with a route per webhook receiver, all integrated with one
 * ingress function that verifies, parses and enqueues each event on the queues of the flows
 * subscribed to its type, and only then acknowledges. The routing (event type -> queue names) is
 * bundled into the function (lib/entries.ts); its environment carries only the queues' common URL
 * prefix, so it stays the same size however many flows there are.
 */
import { Aws, Duration, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type IngressEntry, secretNamesOf } from '../entries.ts';
import { grantStateAccess } from '../state-access.ts';
import { MillwrightFunction } from './millwright-function.ts';

/** The URL of a queue named `<name>` in this stack's account and region is this prefix + name. */
export const QUEUE_URL_PREFIX = `https://sqs.${Aws.REGION}.${Aws.URL_SUFFIX}/${Aws.ACCOUNT_ID}/`;

export interface IngressProps {
  entry: IngressEntry;
  /** The queues of the flows subscribed to webhook events (named as in the bundled routing). */
  queues: readonly sqs.IQueue[];
  table: dynamodb.ITable;
  logRetention: logs.RetentionDays;
  /** Stage throttling (`runtime.webhookRateLimit` / `runtime.webhookBurstLimit`). */
  rateLimit: number;
  burstLimit: number;
}

/** `POST /webhooks/upkeep/{token}` -> method and path. */
export function parseRouteKey(routeKey: string): { method: apigwv2.HttpMethod; path: string } {
  const match = /^([A-Z]+) (\/\S*)$/.exec(routeKey.trim());
  const method = match?.[1] as apigwv2.HttpMethod | undefined;
  if (!match?.[2] || !method || !Object.values(apigwv2.HttpMethod).includes(method)) {
    throw new Error(`webhook route ${JSON.stringify(routeKey)} is not "<METHOD> /<path>"`);
  }
  return { method, path: match[2] };
}

export class Ingress extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly ingress: MillwrightFunction;
  readonly routeKeys: string[];

  constructor(scope: Construct, id: string, props: IngressProps) {
    super(scope, id);
    const { entry } = props;

    this.ingress = new MillwrightFunction(this, 'Ingress', {
      entry: entry.entryPath,
      description: `Millwright webhook ingress (${entry.vendors.join(', ')})`,
      timeout: Duration.seconds(15),
      logRetention: props.logRetention,
      environment: {
        TABLE_NAME: props.table.tableName,
        QUEUE_URL_PREFIX,
      },
    });
    Validations.of(this.ingress).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Invoked synchronously by API Gateway: a failure is a 5xx to the vendor, which redelivers; nothing is acknowledged before it is enqueued, so there is no asynchronous event to dead-letter.',
    });
    for (const queue of new Set(props.queues)) queue.grantSendMessages(this.ingress);
    // Nonces (replay protection) and delivery marks live in the state table (lib/state-access.ts).
    grantStateAccess(props.table, this.ingress, 'ingress');
    this.ingress.grantReadSecrets(secretNamesOf(entry));

    this.api = new apigwv2.HttpApi(this, 'Api', {
      description: 'Millwright webhooks',
      createDefaultStage: false,
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention });
    this.stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        // The route key, never the path: an UpKeep path carries the URL token that authenticates it.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTime',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });

    const integration = new HttpLambdaIntegration('Ingress', this.ingress);
    this.routeKeys = [...new Set(entry.receivers.map((r) => r.route.trim()))];
    for (const routeKey of this.routeKeys) {
      const { method, path } = parseRouteKey(routeKey);
      const route = new apigwv2.HttpRoute(this, `Route${routeKey.replace(/[^A-Za-z0-9]/g, '')}`, {
        httpApi: this.api,
        routeKey: apigwv2.HttpRouteKey.with(path, method),
        integration,
      });
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Vendors call webhooks without AWS credentials or a token an authorizer could check; the ingress function authenticates every request (signature or URL token over the raw body, constant time, replay window) before parsing it.',
      });
    }
    // The webhook URLs are root stack outputs (lib/stack.ts: ApiUrl, WebhookUrl<Vendor>).
  }
}
