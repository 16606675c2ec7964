import { SimulatorInputError } from '../../../../sandbox/simulators/server.ts';

/** A control action that cannot be applied; `status` is what the control API answers. */
export class MobilityWorkSimError extends SimulatorInputError<400 | 404 | 409> {}
