// Watching a guest on another host right after it moved there: its domain
// events for a short window (`virsh -c <target> event --domain <uuid> --all
// --loop --timeout N`), then its state and reason (`domstate --reason`).
// The verdict on what that means is agent/migrations/guest-health.ts's.
//
// Why both: a guest kernel that panics with panic=-1 and no pvpanic device
// is reset by QEMU and keeps running with the reason of its arrival
// ("migrated"), so only the 'reboot' event shows it; with pvpanic the state
// itself says so (crashed, or running (booted) after libvirt restarted it).
import { createInterface } from 'node:readline';
import { ServerNotFoundError, parseLibvirtError } from './errors.ts';
import type { DomainEvent, GuestWatch } from './hypervisor.ts';
import { EventLineParser } from './parse-events.ts';
import { parseDomState } from './parse-domain.ts';
import { killTree, type Virsh } from './virsh.ts';

/** Events of one domain on `uri` for `watchMs` (nothing when 0), then its state and reason. `uri` and `uuid` are validated by the caller. */
export async function watchGuest(virsh: Virsh, uri: string, uuid: string, watchMs: number, signal?: AbortSignal): Promise<GuestWatch> {
  const events = watchMs > 0 ? await domainEvents(virsh, uri, uuid, watchMs, signal) : [];
  try {
    const out = await virsh.run(['domstate', '--domain', uuid, '--reason'], { signal, uri, context: { domain: uuid, targetUri: uri } });
    const { state, reason } = parseDomState(out.stdout);
    return { events, state, reason };
  } catch (err) {
    if (err instanceof ServerNotFoundError) return { events, state: null, reason: '' };
    throw err;
  }
}

/**
 * virsh's own --timeout (whole seconds) ends the loop; a kill after the
 * window plus a margin bounds it if virsh hangs on a dead connection.
 */
async function domainEvents(virsh: Virsh, uri: string, uuid: string, watchMs: number, signal?: AbortSignal): Promise<DomainEvent[]> {
  signal?.throwIfAborted();
  const seconds = Math.max(1, Math.ceil(watchMs / 1000));
  const child = virsh.spawnLong(['event', '--domain', uuid, '--all', '--loop', '--timestamp', '--timeout', String(seconds)], uri);
  const parser = new EventLineParser();
  const events: DomainEvent[] = [];
  const stderr: Buffer[] = [];
  child.stderr!.on('data', (c: Buffer) => stderr.length < 64 && stderr.push(c));
  createInterface({ input: child.stdout! }).on('line', (line) => events.push(...parser.feed(line)));
  const kill = () => killTree(child);
  const backstop = setTimeout(kill, seconds * 1000 + 10_000);
  signal?.addEventListener('abort', kill, { once: true });
  try {
    const code = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c) => resolve(c ?? 1));
    });
    signal?.throwIfAborted();
    const text = Buffer.concat(stderr).toString('utf8');
    // Exit 1 with nothing on stderr is virsh's "events received: 0".
    if (code !== 0 && /error/i.test(text)) throw parseLibvirtError(text, { command: 'event', uri, domain: uuid, targetUri: uri });
  } finally {
    clearTimeout(backstop);
    signal?.removeEventListener('abort', kill);
  }
  events.push(...parser.flush());
  return events;
}
