// Validation of every identifier that can reach virsh or a NATS subject.
// execFile never goes through a shell, but a name starting with "-" would
// still be taken as an option, and a "." or ">" would break a subject.
// URIs and endpoints (what names another machine) are in common/uri.ts.
import { InvalidArgumentError } from './errors.ts';

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** libvirt domain names we accept: letters, digits, '_', '-', '.', not leading '-' or '.'. */
const DOMAIN_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** Host, zone, operation and migration ids: also valid NATS subject tokens. */
const ID_RE = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$/;

export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

export function assertUuid(field: string, value: string): string {
  if (!UUID_RE.test(value)) throw new InvalidArgumentError(field, `${JSON.stringify(value)} is not a UUID`);
  return value.toLowerCase();
}

export function assertDomainName(field: string, value: string): string {
  if (!DOMAIN_NAME_RE.test(value)) throw new InvalidArgumentError(field, `${JSON.stringify(value)} is not an acceptable server name`);
  return value;
}

/** A uuid or a safe domain name: what may name a server on the virsh command line. */
export function assertServerRef(field: string, value: string): string {
  if (UUID_RE.test(value)) return value.toLowerCase();
  return assertDomainName(field, value);
}

export function assertId(field: string, value: string): string {
  if (!ID_RE.test(value)) throw new InvalidArgumentError(field, `${JSON.stringify(value)} must match ${ID_RE}`);
  return value;
}
