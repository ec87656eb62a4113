// Reading what lab guests print on their serial console (scripts/guest/init.sh).
// Each lab host writes its own serial log for a guest (the same path inside
// every host's private /var/log/libvirt), so after a live migration the
// source's file ends at HB k and the target's continues with HB k+1. Pure
// functions here; lab.ts reads the files.

export type SerialKind = 'BOOT' | 'HB' | 'W' | 'POWEROFF';

export interface SerialRecord {
  /** Lab host whose serial log holds the line. */
  host: string;
  kind: SerialKind;
  /** Counter (HB, W); 0 for BOOT and POWEROFF. */
  n: number;
  /** First 8 hex digits of the guest kernel's boot_id: changes on every guest boot. */
  boot: string;
}

export interface Heartbeat {
  host: string;
  n: number;
  boot: string;
}

const RECORD_RE = /(HB|W) (\d+) ([0-9a-f]{8})$|(BOOT) ([0-9a-f]{8}) fill=\d+ disk=\S+$|(POWEROFF) ([0-9a-f]{8})$/;
const WHOLE_RE = new RegExp(`^(?:${RECORD_RE.source})`);

function toRecord(host: string, m: RegExpExecArray): SerialRecord {
  if (m[1]) return { host, kind: m[1] as SerialKind, n: Number(m[2]), boot: m[3]! };
  if (m[4]) return { host, kind: 'BOOT', n: 0, boot: m[5]! };
  return { host, kind: 'POWEROFF', n: 0, boot: m[7]! };
}

/**
 * Parses the serial logs of one guest, one text per host, in file order.
 *
 * A guest paused mid-line by a live migration leaves the start of a line in
 * the source's log ("HB 1") and its end in the target's ("2 0a1b2c3d"); those
 * fragments are joined so a migration never shows a false gap.
 */
export function parseSerialLogs(logs: { host: string; text: string }[]): SerialRecord[] {
  const records: SerialRecord[] = [];
  const tails: { host: string; text: string }[] = [];
  const orphans: { host: string; text: string }[] = [];
  for (const { host, text } of logs) {
    const lines = text.split('\n');
    const last = lines.pop() ?? '';
    if (last) tails.push({ host, text: last });
    for (const raw of lines) {
      const line = raw.replace(/\r$/, '');
      const m = RECORD_RE.exec(line);
      if (!m) {
        if (line) orphans.push({ host, text: line });
        continue;
      }
      // Text before a record on the same line: the start of a line cut off
      // when the guest left this host earlier.
      if (m.index > 0) tails.push({ host, text: line.slice(0, m.index) });
      records.push(toRecord(host, m));
    }
  }
  for (const t of tails) {
    for (const o of orphans) {
      if (o.host === t.host) continue;
      const m = WHOLE_RE.exec(t.text + o.text);
      if (m && m[0].length === t.text.length + o.text.length) records.push(toRecord(o.host, m));
    }
  }
  return records;
}

/** Heartbeats of one boot, ordered by counter, one per counter value. */
export function beatsOfBoot(records: SerialRecord[], boot: string): Heartbeat[] {
  const byN = new Map<number, Heartbeat>();
  for (const r of records) {
    if (r.kind === 'HB' && r.boot === boot && !byN.has(r.n)) byN.set(r.n, { host: r.host, n: r.n, boot: r.boot });
  }
  return [...byN.values()].sort((a, b) => a.n - b.n);
}

/** Counter values missing between the first and last heartbeat. */
export function gaps(beats: readonly { n: number }[]): number[] {
  const seen = new Set(beats.map((b) => b.n));
  if (seen.size === 0) return [];
  const min = Math.min(...seen);
  const max = Math.max(...seen);
  const missing: number[] = [];
  for (let n = min; n <= max; n++) if (!seen.has(n)) missing.push(n);
  return missing;
}
