// Typed hypervisor failures and the ONE place that reads libvirt's message
// text (parseLibvirtError). Everything else in drydock sees classes and
// gRPC codes, never "error: ..." strings. The messages matched here were
// captured from libvirt 9.0 and are kept as fixtures under
// test/fixtures/libvirt/errors/.
import {
  AbortedError,
  DeadlineExceededError,
  DrydockError,
  type DrydockErrorOptions,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
} from '../../common/errors.ts';

/** What the failing call was about; carried into the typed error. */
export interface LibvirtErrorContext {
  /** virsh command ("migrate", "domjobabort", ...). */
  command?: string;
  /** Domain uuid or name the call was about. */
  domain?: string;
  /** URI of the daemon the call went to. */
  uri?: string;
  /** Migration target URI, if any. */
  targetUri?: string;
  /** Request field an invalid XML document came from (default "xml"). */
  field?: string;
}

function detailsOf(ctx: LibvirtErrorContext, raw: string): Record<string, string> {
  const d: Record<string, string> = { libvirtMessage: raw };
  if (ctx.command) d.command = ctx.command;
  if (ctx.domain) d.domain = ctx.domain;
  if (ctx.uri) d.uri = ctx.uri;
  if (ctx.targetUri) d.targetUri = ctx.targetUri;
  return d;
}

/** No domain with that uuid/name on the host asked. */
export class ServerNotFoundError extends NotFoundError {
  constructor(ref: string, options: DrydockErrorOptions = {}) {
    super('server', ref, options);
  }
}

/** A storage pool or volume the call needed does not exist. */
export class StorageNotFoundError extends NotFoundError {}

/** The migration target's libvirtd cannot be reached (no route, refused, timeout). */
export class TargetUnreachableError extends UnavailableError {
  constructor(
    readonly targetUri: string,
    message: string,
    options: DrydockErrorOptions = {},
  ) {
    super(`target ${targetUri} unreachable: ${message}`, options);
  }
}

/** The local libvirtd does not answer: the host cannot act at all right now. */
export class HypervisorUnavailableError extends UnavailableError {}

/**
 * Source and target are the same libvirt host (same host UUID).
 * INVALID_ARGUMENT, not FAILED_PRECONDITION: the request itself names a wrong
 * target, and retrying it unchanged can never succeed whatever the system
 * state; the coordinator's target filter should never let it through.
 */
export class SameHostError extends InvalidArgumentError {
  constructor(message: string, options: DrydockErrorOptions = {}) {
    super('target_uri', message, options);
  }
}

/** libvirt refuses a live migration it deems unsafe (disks not on shared storage). */
export class UnsafeMigrationError extends FailedPreconditionError {}

/** The migration job was cancelled (domjobabort); the guest stays on the source. */
export class MigrationAbortedError extends AbortedError {}

/** The migration did not finish within its total deadline. */
export class MigrationTimedOutError extends DeadlineExceededError {}

/** The migration made no progress within the stall window. */
export class MigrationStalledError extends DeadlineExceededError {}

/** The call needs a running domain and it is not running. */
export class DomainNotRunningError extends FailedPreconditionError {}

/** The call needs a shut-off domain and it is running. */
export class DomainRunningError extends FailedPreconditionError {}

/** Another job holds the domain (libvirt's state change lock); retry later. */
export class DomainBusyError extends UnavailableError {}

/** libvirt's "Requested operation is not valid" in the domain's present state. */
export class OperationInvalidError extends FailedPreconditionError {}

/** An abort was asked while the migration is in post-copy (never abort then). */
export class PostCopyAbortRefusedError extends FailedPreconditionError {}

/** The described CPU cannot run on this host (hypervisor-cpu-compare --error). */
export class CpuIncompatibleError extends FailedPreconditionError {
  constructor(
    message: string,
    readonly missingFeatures: string[],
    options: DrydockErrorOptions = {},
  ) {
    super(message, options);
  }
}

/** libvirt rejected an XML document we passed (malformed, unknown CPU model). */
export class InvalidDefinitionError extends InvalidArgumentError {}

/** hypervisor-cpu-baseline found no CPU common to its inputs (e.g. Intel and AMD). */
export class NoCommonCpuError extends FailedPreconditionError {}

/** A virsh call outlived its deadline and was killed. */
export class VirshTimeoutError extends DeadlineExceededError {}

/** Anything libvirt said that no class above covers; keeps the raw text. */
export class LibvirtError extends InternalError {
  constructor(
    readonly rawMessage: string,
    options: DrydockErrorOptions = {},
  ) {
    super(rawMessage, options);
  }
}

/** libvirt's lines without the "error: " prefixes, joined with "; ". */
export function cleanLibvirtMessage(stderr: string): string {
  return stderr
    .split('\n')
    .map((l) => l.trim().replace(/^error:\s*/, ''))
    .filter((l) => l.length > 0)
    .join('; ');
}

/**
 * Turns virsh's stderr into a typed error. The only function in drydock that
 * matches libvirt message text. Order matters: specific causes first (a
 * migration to an unreachable target also says "failed to connect").
 */
export function parseLibvirtError(stderr: string, ctx: LibvirtErrorContext = {}): DrydockError {
  const msg = cleanLibvirtMessage(stderr) || 'virsh failed without a message';
  const opts: DrydockErrorOptions = { details: detailsOf(ctx, msg) };
  const ref = ctx.domain ?? '';
  let m: RegExpMatchArray | null;

  if (/Attempt to migrate guest to the same host/i.test(msg)) return new SameHostError(msg, opts);
  if (/Unsafe migration/i.test(msg)) return new UnsafeMigrationError(msg, opts);
  if (/operation aborted/i.test(msg) && /cancel(l)?ed by client/i.test(msg)) return new MigrationAbortedError(msg, opts);

  // virsh could not open its own connection (ctx.uri). That is our daemon,
  // unless the call was addressed to a peer (startOn, serverOn, copyDiskTo).
  const toPeer = ctx.targetUri !== undefined && ctx.uri === ctx.targetUri;
  if (/failed to connect to the hypervisor|End of file while reading data|Cannot recv data|client socket is closed|cannot send data/i.test(msg)) {
    return toPeer ? new TargetUnreachableError(ctx.targetUri ?? '', msg, opts) : new HypervisorUnavailableError(msg, opts);
  }
  // Connection failures past the first: libvirtd's p2p connection to the target.
  if (/unable to connect to server|No route to host|Connection refused|Connection timed out|Network is unreachable|Name or service not known/i.test(msg)) {
    const target = ctx.targetUri ?? msg.match(/unable to connect to server at '([^']*)'/i)?.[1];
    return target !== undefined ? new TargetUnreachableError(target, msg, opts) : new HypervisorUnavailableError(msg, opts);
  }

  if ((m = msg.match(/the CPU is incompatible with host CPU: (.*)$/i))) {
    const reason = m[1] ?? msg;
    const f = reason.match(/does not provide required features?: (.*)$/i);
    const missing = f?.[1]
      ? f[1]
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [];
    return new CpuIncompatibleError(reason, missing, opts);
  }

  if (/CPU vendors do not match/i.test(msg)) return new NoCommonCpuError(msg, opts);
  if (/Unknown CPU model|tag mismatch|XML error|parser error|failed to validate|Premature end of data|Start tag expected/i.test(msg)) {
    return new InvalidDefinitionError(ctx.field ?? 'xml', msg, opts);
  }

  if (/Domain not found|failed to get domain|no domain with matching/i.test(msg)) return new ServerNotFoundError(ref || msg, opts);
  if (/Storage (pool|volume) not found|failed to get (pool|vol)/i.test(msg)) return new StorageNotFoundError('storage', ref || msg, opts);

  if (/cannot acquire state change lock|another migration job is already running/i.test(msg)) return new DomainBusyError(msg, opts);
  if (/domain is not running/i.test(msg)) return new DomainNotRunningError(msg, opts);
  if (/Domain is already active|domain is already running/i.test(msg)) return new DomainRunningError(msg, opts);
  if (/migration (job|out)?.*(timed out|timeout)/i.test(msg)) return new MigrationTimedOutError(msg, opts);
  if (/Requested operation is not valid|Operation not supported/i.test(msg)) return new OperationInvalidError(msg, opts);

  return new LibvirtError(msg, opts);
}
