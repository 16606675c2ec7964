import { SimulatorInputError } from '../../../../sandbox/simulators/server.ts';

/** The answer a simulator route gives when a request breaks the doc's rules. */
export class ApiError extends SimulatorInputError {}

/** A 400 with UpKeep's own message. */
export const bad = (message: string) => new ApiError(400, message);
