// Virsh shells started and connected ahead of the next live migration, one
// per libvirt URI: while a live move runs, the agent arms one for this host
// (the next move's `virsh migrate` and its reads) and one for the target
// (the next move's check of that target), so a drain's next move pays no
// virsh start-up and connection before it starts — tens of ms on an idle
// host, hundreds on a busy one, and the bulk of what the agent added over a
// bare `virsh migrate` (bench/migration-wall.ts). A shell left unused ends
// after `ttlMs`; one taken is the taker's (virsh-prepared.ts). Only URIs
// the agent validated reach here (Virsh.spawnLong validates them again).
import type { Virsh } from './virsh.ts';
import { PreparedVirshCall } from './virsh-prepared.ts';

export class VirshStandby {
  private readonly idle = new Map<string, { call: PreparedVirshCall; timer: NodeJS.Timeout }>();

  constructor(
    private readonly virsh: Virsh,
    private readonly ttlMs: number,
  ) {}

  /** The shell waiting for `uri`, if one is there and still usable (alive, unused), else null. Taken: not handed out again. */
  take(uri: string): PreparedVirshCall | null {
    const waiting = this.idle.get(uri);
    if (!waiting) return null;
    this.idle.delete(uri);
    clearTimeout(waiting.timer);
    if (waiting.call.usable([])) return waiting.call;
    waiting.call.cancel();
    return null;
  }

  /** Starts a shell for `uri` to wait for the next take, unless one already waits; it ends after ttlMs unused. */
  arm(uri: string): void {
    if (this.ttlMs <= 0 || this.idle.has(uri)) return;
    const call = new PreparedVirshCall(this.virsh, uri);
    const timer = setTimeout(() => {
      if (this.idle.get(uri)?.call === call) this.idle.delete(uri);
      call.cancel();
    }, this.ttlMs);
    // A waiting shell never keeps the agent's process alive.
    timer.unref();
    this.idle.set(uri, { call, timer });
  }

  /** How many shells wait (tests). */
  get size(): number {
    return this.idle.size;
  }

  /** Ends every waiting shell. */
  close(): void {
    for (const { call, timer } of this.idle.values()) {
      clearTimeout(timer);
      call.cancel();
    }
    this.idle.clear();
  }
}
