// Failures decided by the agent's migration manager itself (the hypervisor's
// own failures come typed from ../hypervisor). Class names are the `kind`
// clients see in ErrorInfo.
import { AbortedError, AlreadyExistsError, FailedPreconditionError, InternalError, ResourceExhaustedError } from '../../common/errors.ts';

// The monitor's two timeouts use the hypervisor's classes, so a stall reads
// the same whether libvirt or the agent noticed it.
export { MigrationStalledError, MigrationTimedOutError } from '../hypervisor/errors.ts';

/** An operator (AbortMigration) or the agent's shutdown cancelled the migration. */
export class MigrationCancelledError extends AbortedError {}

/** AbortMigration in post-copy, or after a cold move passed the point of no return. */
export class AbortRefusedError extends FailedPreconditionError {}

/** The migration id was already used for a different server, target or mode. */
export class MigrationIdConflictError extends AlreadyExistsError {}

/** The server already has a migration running under another id. */
export class ServerBusyError extends FailedPreconditionError {}

/** Too many outgoing migrations at once on this host. */
export class TooManyMigrationsError extends ResourceExhaustedError {}

/** After the job reported success the server was not found running on the target. */
export class MigrationVerificationError extends InternalError {}

/** The agent restarted mid-migration and could not establish where the server is. */
export class MigrationOutcomeUnknownError extends InternalError {}

/**
 * An interrupted move left the server defined on both the source and the
 * target. The agent starts neither copy and moves neither (either would
 * risk two instances on one set of disks) until an operator undefines one.
 */
export class ServerDefinedTwiceError extends FailedPreconditionError {}
