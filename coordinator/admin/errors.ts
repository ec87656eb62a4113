// Admin-edge errors common/errors.ts has no class for.
import { status } from '@grpc/grpc-js';
import { DrydockError } from '../../common/errors.ts';

/** A declared method whose implementation has not landed yet. */
export class UnimplementedError extends DrydockError {
  override readonly code = status.UNIMPLEMENTED;
  constructor(
    readonly method: string,
    detail: string,
  ) {
    super(`${method} is not implemented yet: ${detail}`, { details: { method } });
  }
}
