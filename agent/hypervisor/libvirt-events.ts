// Domain events: one long-running `virsh event --all --loop --timestamp`,
// parsed line by line (parse-events.ts) and restarted with a doubling
// backoff when it dies, until the caller aborts or stops iterating.
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DomainEvent } from './hypervisor.ts';
import { EventLineParser } from './parse-events.ts';
import { killTree, type Virsh } from './virsh.ts';

/** Restart delay of the event stream: from minMs, doubling to maxMs; back to minMs after a minute of life. */
export interface EventBackoff {
  minMs: number;
  maxMs: number;
}

export async function* virshEvents(virsh: Virsh, backoff: EventBackoff, signal: AbortSignal): AsyncIterable<DomainEvent> {
  const queue: DomainEvent[] = [];
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  // Stops the supervisor when the caller aborts or stops iterating.
  const life = new AbortController();
  const onAbort = () => life.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) life.abort();
  let child: ReturnType<Virsh['spawnLong']> | undefined;

  const supervise = async () => {
    let delay = backoff.minMs;
    while (!life.signal.aborted) {
      const started = Date.now();
      const parser = new EventLineParser();
      const c = virsh.spawnLong(['event', '--all', '--loop', '--timestamp']);
      child = c;
      const lines = createInterface({ input: c.stdout! });
      c.stderr!.resume();
      let flushTimer: NodeJS.Timeout | undefined;
      lines.on('line', (line) => {
        for (const ev of parser.feed(line)) queue.push(ev);
        clearTimeout(flushTimer);
        // job-completed's statistics follow on their own lines; release the
        // event once its lines stopped coming.
        if (parser.hasPending) {
          flushTimer = setTimeout(() => {
            for (const ev of parser.flush()) queue.push(ev);
            notify();
          }, 50);
        }
        notify();
      });
      await new Promise<void>((resolve) => {
        c.once('close', () => resolve());
        c.once('error', () => resolve());
      });
      clearTimeout(flushTimer);
      for (const ev of parser.flush()) queue.push(ev);
      notify();
      if (life.signal.aborted) break;
      if (Date.now() - started > 60_000) delay = backoff.minMs;
      try {
        await sleep(delay, undefined, { signal: life.signal });
      } catch {
        break;
      }
      delay = Math.min(delay * 2, backoff.maxMs);
    }
  };
  const supervisor = supervise();
  life.signal.addEventListener(
    'abort',
    () => {
      if (child) killTree(child);
      notify();
    },
    { once: true },
  );

  try {
    while (!life.signal.aborted) {
      const ev = queue.shift();
      if (ev) {
        yield ev;
        continue;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    life.abort();
    signal.removeEventListener('abort', onAbort);
    if (child) killTree(child);
    await supervisor.catch(() => undefined);
  }
}
