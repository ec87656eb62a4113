// `virsh event --all --loop --timestamp`, line by line. A line
// "2026-11-25 09:45:28.825+0000: event 'lifecycle' for domain 'g1': Suspended Migrated"
// starts an event; tab-indented lines after it (job-completed's statistics)
// belong to it. Events are released when the next one starts or on flush().
import type { DomainEvent } from './hypervisor.ts';

const HEAD = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)([+-]\d\d)(\d\d): event '([^']+)' for domain '(.*?)'(?::\s?(.*))?$/;
const HEAD_NO_TS = /^event '([^']+)' for domain '(.*?)'(?::\s?(.*))?$/;

export function parseEventTimestamp(date: string, time: string, tzh: string, tzm: string): number {
  const ms = Date.parse(`${date}T${time}${tzh}:${tzm}`);
  return Number.isFinite(ms) ? ms : Date.now();
}

export class EventLineParser {
  private pending: DomainEvent | undefined;
  private extra: string[] = [];

  /** Feeds one line; returns events completed by it. */
  feed(line: string, nowMs = Date.now()): DomainEvent[] {
    const l = line.replace(/\r$/, '');
    let m = l.match(HEAD);
    let ev: DomainEvent | undefined;
    if (m) ev = { event: m[5] ?? '', name: m[6] ?? '', detail: (m[7] ?? '').trim(), atMs: parseEventTimestamp(m[1]!, m[2]!, m[3]!, m[4]!) };
    else if ((m = l.match(HEAD_NO_TS))) ev = { event: m[1] ?? '', name: m[2] ?? '', detail: (m[3] ?? '').trim(), atMs: nowMs };
    if (ev) {
      const done = this.flush();
      this.pending = ev;
      return done;
    }
    if (this.pending && /^\s+\S/.test(l)) this.extra.push(l.trim());
    return [];
  }

  /** Releases the event being assembled, if any. */
  flush(): DomainEvent[] {
    if (!this.pending) return [];
    const ev = this.pending;
    if (this.extra.length > 0) ev.detail = [ev.detail, ...this.extra].filter(Boolean).join('; ');
    this.pending = undefined;
    this.extra = [];
    return [ev];
  }

  get hasPending(): boolean {
    return this.pending !== undefined;
  }
}
