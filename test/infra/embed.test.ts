/**
 * The Millwright construct inside a user's own CDK app and Stack, exactly as the README shows it:
 * it synthesizes, has every enabled flow, tags its resources for cost allocation, retains its
 * stateful resources and passes both cdk-nag packs.
 */

import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { App, Stack, type StackProps } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { planPollGroups } from '../../functions/runtime/shared-poll.ts';
import { PROJECT_ROOT } from '../../lib/entries.ts';
import { type Deployment, flows, loadDeployment, Millwright } from '../../lib/index.ts';
import { flatTemplate } from '../support/cfn-flatten.ts';

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };

/** A user's own stack, with their own resources beside Millwright. */
class PlantStack extends Stack {
  readonly millwright: Millwright;
  constructor(scope: Construct, id: string, props: StackProps & { deployment: Deployment }) {
    super(scope, id, props);
    this.millwright = new Millwright(this, 'Plant', { deployment: props.deployment });
  }
}

let app: App;
let stack: PlantStack;
let deployment: Deployment;
let resources: Record<string, Resource>;

beforeAll(() => {
  app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  deployment = loadDeployment(join(PROJECT_ROOT, 'config/default.json'), flows);
  stack = new PlantStack(app, 'UserPlantStack', { deployment });
  resources = flatTemplate(stack).Resources as Record<string, Resource>;
});

const ofType = (type: string) => Object.values(resources).filter((r) => r.Type === type);
const tagsOf = (r: Resource): Record<string, string> =>
  Object.fromEntries(
    ((r.Properties.Tags as { Key: string; Value: string }[] | undefined) ?? []).map((t) => [t.Key, t.Value]),
  );

/** Scheduler DLQs: one per flow with a poller of its own, one per poll group (runtime/shared-poll.ts). */
const schedulerDlqs = (): number => {
  const { groups, ownPoll } = planPollGroups(deployment.enabled);
  const own = deployment.enabled.filter(({ flow }) =>
    flow.triggers.some((t, i) => t.kind === 'schedule' && ownPoll(flow.id, i)),
  );
  return own.length + groups.length;
};

describe('Millwright embedded in a user stack', () => {
  it("synthesizes with a worker, queue and DLQ per enabled flow and the user's construct id in its logical ids", () => {
    const root = Template.fromStack(stack).toJSON() as { Resources: Record<string, Resource> };
    const rootIds = Object.keys(root.Resources);
    expect(rootIds.some((id) => id.startsWith('PlantStateTable'))).toBe(true);
    const workers = ofType('AWS::Lambda::Function').map((f) => String(f.Properties.Description));
    for (const { flow } of deployment.enabled) {
      expect(workers).toContain(`Millwright worker: ${flow.id}`);
      expect(stack.millwright.workers.get(flow.id)).toBeDefined();
    }
    // A queue and a DLQ per flow, and a scheduler DLQ per flow that polls on its own and per poll group.
    const { groups } = planPollGroups(deployment.enabled);
    expect(ofType('AWS::SQS::Queue')).toHaveLength(2 * deployment.enabled.length + schedulerDlqs());
    const nested = Object.values(root.Resources).filter((r) => r.Type === 'AWS::CloudFormation::Stack');
    expect(nested).toHaveLength(deployment.enabled.length + groups.length);
  });

  it('retains the state table, every queue and every DLQ on stack deletion', () => {
    const stateful = [...ofType('AWS::DynamoDB::Table'), ...ofType('AWS::SQS::Queue')];
    expect(stateful.length).toBe(1 + 2 * deployment.enabled.length + schedulerDlqs());
    // Flow queues (fixed names) are deleted only when the create that made them rolls back.
    for (const r of stateful) expect(r.DeletionPolicy).toMatch(/^Retain(ExceptOnCreate)?$/);
  });

  it("tags every taggable resource with millwright:deployment, and a flow's resources with millwright:flow", () => {
    for (const r of [...ofType('AWS::DynamoDB::Table'), ...ofType('AWS::Lambda::Function')]) {
      expect(tagsOf(r)['millwright:deployment']).toBe(deployment.name);
    }
    for (const { flow } of deployment.enabled) {
      const worker = ofType('AWS::Lambda::Function').find(
        (f) => f.Properties.Description === `Millwright worker: ${flow.id}`,
      ) as Resource;
      expect(tagsOf(worker)['millwright:flow']).toBe(flow.id);
    }
    const ingress = ofType('AWS::Lambda::Function').find((f) =>
      String(f.Properties.Description).startsWith('Millwright webhook ingress'),
    ) as Resource;
    expect(tagsOf(ingress)['millwright:flow']).toBeUndefined();
  });

  it.each([
    ['AwsSolutions', () => new AwsSolutionsChecks(app, { verbose: true })],
    ['Serverless', () => new ServerlessChecks(app, { verbose: true })],
  ])('passes cdk-nag %s with nothing unacknowledged', (_, pack) => {
    const findings = pack()
      .validateScope(app)
      .violations.map(
        (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      );
    expect(findings).toEqual([]);
  });
});
