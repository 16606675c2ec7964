/**
 * The connector registry: one line per vendor folder. The deployment schema's `vendors`, the
 * `VendorId` union, the sandbox's simulators, the sandbox secrets and the stack's routes and secret
 * grants are derived from it (functions/connectors/index.ts).
 */
export { connector as clickMaint } from './click-maint/connector.ts';
export { connector as deepomatic } from './deepomatic/connector.ts';
export { connector as machinemetrics } from './machinemetrics/connector.ts';
export { connector as mobilityWork } from './mobility-work/connector.ts';
export { connector as upkeep } from './upkeep/connector.ts';
