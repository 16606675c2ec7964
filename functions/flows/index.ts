/**
 * The flow registry: the single list that the CDK stack (lib/) and the sandbox both read.
 * Adding a flow = one file in this folder + one line here.
 */
import type { AnyFlow } from '../core/flow.ts';
import { flow as clickMaintPartLowToMobilityWorkStock } from './click-maint-part-low-to-mobility-work-stock.ts';
import { flow as deepomaticValidationToUpKeepWorkOrder } from './deepomatic-validation-to-upkeep-work-order.ts';
import { flow as machineMetricsDowntimeToClickMaint } from './machinemetrics-downtime-to-click-maint-work-order.ts';
import { flow as machineMetricsDowntimeToMobilityWorkTask } from './machinemetrics-downtime-to-mobility-work-task.ts';
import { flow as machineMetricsDowntimeToUpKeep } from './machinemetrics-downtime-to-upkeep-work-order.ts';
import { flow as mobilityWorkStockAlertToUpKeep } from './mobility-work-stock-alert-to-upkeep.ts';
import { flow as mobilityWorkTaskToUpKeepWorkOrderStatus } from './mobility-work-task-to-upkeep-work-order-status.ts';
import { flow as upkeepPartLowToMobilityWorkStock } from './upkeep-part-low-to-mobility-work-stock.ts';
import { flow as upkeepWorkOrderToDeepomaticValidation } from './upkeep-work-order-to-deepomatic-validation.ts';

export const flows: readonly AnyFlow[] = [
  machineMetricsDowntimeToUpKeep,
  upkeepPartLowToMobilityWorkStock,
  mobilityWorkStockAlertToUpKeep,
  machineMetricsDowntimeToMobilityWorkTask,
  mobilityWorkTaskToUpKeepWorkOrderStatus,
  machineMetricsDowntimeToClickMaint,
  clickMaintPartLowToMobilityWorkStock,
  upkeepWorkOrderToDeepomaticValidation,
  deepomaticValidationToUpKeepWorkOrder,
];

/** A flow lives in `functions/flows/<id>.ts`; lib/ bundles each worker from that file alone. */
export const flowModulePath = (id: string): string => `functions/flows/${id}.ts`;
