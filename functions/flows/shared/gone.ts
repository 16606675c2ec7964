/**
 * Records a person deleted under us. A vendor answers 404 to a write on a record that no longer
 * exists (UpKeep: `Work order not found`); retrying or replaying cannot bring it back, so a flow
 * ends the event visibly (skipped, saying so) instead of dead-lettering it as an error.
 */
import { VendorHttpError } from '../../core/errors.ts';

/** Did the vendor answer that the record is not there (404)? */
export const isGone = (error: unknown): error is VendorHttpError =>
  error instanceof VendorHttpError && error.status === 404;
