/** The answer a simulator route gives when a request breaks the doc's rules. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A 400 with UpKeep's own message. */
export const bad = (message: string) => new ApiError(400, message);
