/**
 * The single state table: idempotency claims, poll watermarks, id mappings, per-entity state,
 * replay nonces and the run log, keyed `pk`/`sk` with a `ttl` attribute. The key schema must match
 * sandbox/dynamo.ts `ensureStateTable`. Retained on stack deletion: it is the record of what was done.
 * Billed on demand, or (`runtime.stateTable.billing: "provisioned"`) with provisioned capacity that
 * auto scaling keeps between the configured min and max at the target utilization.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { StateTableSettings } from '../../functions/config/deployment.ts';

export interface StateTableProps {
  /** `runtime.stateTable` (default: on demand). */
  settings?: StateTableSettings;
}

export class StateTable extends Construct {
  readonly table: dynamodb.Table;
  readonly settings: StateTableSettings;

  constructor(scope: Construct, id: string, props: StateTableProps = {}) {
    super(scope, id);
    const settings = props.settings ?? { billing: 'on-demand' };
    this.settings = settings;
    const capacity =
      settings.billing === 'provisioned'
        ? {
            billingMode: dynamodb.BillingMode.PROVISIONED,
            // The table starts at its minimum; auto scaling raises it with the load.
            readCapacity: settings.readCapacity.min,
            writeCapacity: settings.writeCapacity.min,
          }
        : { billingMode: dynamodb.BillingMode.PAY_PER_REQUEST };
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      ...capacity,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'ttl',
      // Kept when the stack is deleted (the record of what was done); a first deploy that rolls back
      // deletes the empty table it made instead of leaving one behind per try.
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    if (settings.billing === 'provisioned') {
      const { targetUtilizationPercent } = settings;
      this.table
        .autoScaleWriteCapacity({
          minCapacity: settings.writeCapacity.min,
          maxCapacity: settings.writeCapacity.max,
        })
        .scaleOnUtilization({ targetUtilizationPercent });
      this.table
        .autoScaleReadCapacity({
          minCapacity: settings.readCapacity.min,
          maxCapacity: settings.readCapacity.max,
        })
        .scaleOnUtilization({ targetUtilizationPercent });
    }
  }
}
