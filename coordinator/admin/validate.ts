// Request field checks shared by the admin handlers: each failure is an
// InvalidArgumentError naming the field.
import { InvalidArgumentError } from '../../common/errors.ts';

export function requireNonEmpty(field: string, value: string | undefined): string {
  if (!value) throw new InvalidArgumentError(field, 'is required');
  return value;
}

/** Free text an operator types (names, labels): bounded, no control characters. */
export function assertText(field: string, value: string, max: number): string {
  if (value.length > max) throw new InvalidArgumentError(field, `longer than ${max} characters`);

  if (/[\u0000-\u001f\u007f]/.test(value)) throw new InvalidArgumentError(field, 'contains control characters');
  return value;
}

export function assertRange(field: string, value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max) throw new InvalidArgumentError(field, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

/**
 * Wraps an in-place edit of a record into a Mutation that stamps
 * `updatedAtMs` only when the edit changed something (else: no write).
 */
export function editing<T extends { updatedAtMs: number }>(edit: (rec: T) => void, nowMs: number): (rec: T) => T | undefined {
  return (rec) => {
    const before = JSON.stringify(rec);
    edit(rec);
    if (JSON.stringify(rec) === before) return undefined;
    rec.updatedAtMs = nowMs;
    return rec;
  };
}
