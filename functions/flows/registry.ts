/**
 * The flow registry: one line per flow file. The CDK stack (lib/) and the sandbox both read it
 * (through functions/flows/index.ts). Adding a flow = one file in this folder + one line here.
 */
export { flow as clickMaintPartLowToMobilityWorkStock } from './click-maint-part-low-to-mobility-work-stock.ts';
export { flow as deepomaticValidationToUpKeepWorkOrder } from './deepomatic-validation-to-upkeep-work-order.ts';
export { flow as machineMetricsDowntimeToClickMaint } from './machinemetrics-downtime-to-click-maint-work-order.ts';
export { flow as machineMetricsDowntimeToMobilityWorkTask } from './machinemetrics-downtime-to-mobility-work-task.ts';
export { flow as machineMetricsDowntimeToUpKeep } from './machinemetrics-downtime-to-upkeep-work-order.ts';
export { flow as mobilityWorkStockAlertToUpKeep } from './mobility-work-stock-alert-to-upkeep.ts';
export { flow as mobilityWorkTaskToUpKeepWorkOrderStatus } from './mobility-work-task-to-upkeep-work-order-status.ts';
export { flow as upkeepPartLowToMobilityWorkStock } from './upkeep-part-low-to-mobility-work-stock.ts';
export { flow as upkeepWorkOrderToDeepomaticValidation } from './upkeep-work-order-to-deepomatic-validation.ts';
