// Identifier rules of the coordinator's own records (zones), on top of
// common/names.ts (host, operation ids; server uuids).
import { InvalidArgumentError } from '../common/errors.ts';

/** Same as common/names.ts assertId, as a predicate (for untrusted NATS input). */
const ID_RE = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$/;
export function isValidId(s: string): boolean {
  return ID_RE.test(s);
}

/** Zone ids: [a-z0-9][a-z0-9-]{0,62} (admin.proto). */
const ZONE_ID_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
export function assertZoneId(field: string, value: string): string {
  if (!ZONE_ID_RE.test(value)) throw new InvalidArgumentError(field, `${JSON.stringify(value)} must match ${ZONE_ID_RE}`);
  return value;
}

/** Storage cluster ids: "" (none) or an id. */
export function assertStorageCluster(field: string, value: string): string {
  if (value !== '' && !ID_RE.test(value)) throw new InvalidArgumentError(field, `${JSON.stringify(value)} must be empty or match ${ID_RE}`);
  return value;
}
