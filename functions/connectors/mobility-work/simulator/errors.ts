/** A control action that cannot be applied; `status` is what the control API answers. */
export class MobilityWorkSimError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = 'MobilityWorkSimError';
  }
}
