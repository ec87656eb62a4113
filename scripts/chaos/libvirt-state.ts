// What libvirt itself says in the lab, in the shape the invariant check
// reads (./invariants.ts SimState): each host's domains from
// `virsh list --all` and `virsh dominfo` (run inside the host, over its
// local socket, so a cut link does not hide it), its size from
// `virsh nodeinfo`, every migration libvirt started from the lifecycle
// events a watcher per host collected (`virsh event --all --loop
// --timestamp`), and every agent's migration records from the files in its
// host's state directory. Parsed here, independently of the agent's own
// parsers: the check must not share the bugs of what it checks.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Lab, LabHost } from '../lab/index.ts';
import type { SimState } from './invariants.ts';

/** One lifecycle event a host's libvirtd emitted. */
export interface LifecycleEvent {
  host: string;
  atMs: number;
  domain: string;
  /** "Started", "Stopped", "Defined", "Resumed", ... */
  event: string;
  /** "Migrated", "Booted", "Failed", "Added", ... */
  detail: string;
}

const LIFECYCLE_RE = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3})([+-]\d\d)(\d\d): event 'lifecycle' for domain '([^']+)': (\S+) ?(.*)$/;

/** A line of `virsh event --timestamp` (null: not a lifecycle event, e.g. a job-completed detail line). */
export function parseLifecycleLine(host: string, line: string): LifecycleEvent | null {
  const m = LIFECYCLE_RE.exec(line.trim());
  if (!m) return null;
  const atMs = Date.parse(`${m[1]}T${m[2]}${m[3]}:${m[4]}`);
  if (!Number.isFinite(atMs)) return null;
  return { host, atMs, domain: m[5]!, event: m[6]!, detail: m[7]!.trim() };
}

/**
 * The migrations libvirt started, from the lifecycle events of every host
 * (merged in time order) and where each domain was when the watch began.
 * Live: the target's "Started Migrated" is the start; its "Resumed
 * Migrated" the completion, a "Stopped" before that the failure. Offline
 * (cold): a definition arriving ("Defined Added") on a host the domain is
 * not on, outside a live migration into that host, is a move started and
 * done. `from` is where the domain was at that moment.
 */
export function migrationStarts(events: LifecycleEvent[], initial: Map<string, string>, uuidOf: Map<string, string>): SimState['starts'] {
  const out: SimState['starts'] = [];
  const where = new Map(initial);
  const pending = new Map<string, SimState['starts'][number]>();
  for (const e of [...events].sort((a, b) => a.atMs - b.atMs)) {
    const uuid = uuidOf.get(e.domain);
    if (!uuid) continue;
    const key = `${e.domain}@${e.host}`;
    const here = where.get(e.domain);
    if (e.event === 'Started' && e.detail === 'Migrated' && e.host !== here) {
      const s = { uuid, from: here ?? '?', to: e.host, mode: 'live', startedAtMs: e.atMs, result: 'running' };
      out.push(s);
      pending.set(key, s);
    } else if (pending.has(key) && e.event === 'Resumed' && e.detail.startsWith('Migrated')) {
      pending.get(key)!.result = 'completed';
      pending.delete(key);
      where.set(e.domain, e.host);
    } else if (pending.has(key) && e.event === 'Stopped') {
      pending.get(key)!.result = `failed (${e.detail})`;
      pending.delete(key);
    } else if (e.event === 'Defined' && e.detail === 'Added' && !pending.has(key) && e.host !== here) {
      out.push({ uuid, from: here ?? '?', to: e.host, mode: 'offline', startedAtMs: e.atMs, result: 'completed' });
      where.set(e.domain, e.host);
    }
  }
  return out;
}

/** `virsh event --all --loop --timestamp` inside every host, from before the drain to the check. */
export class EventWatch {
  readonly events: LifecycleEvent[] = [];
  private readonly procs: ChildProcess[] = [];

  constructor(hosts: LabHost[]) {
    for (const h of hosts) {
      const p = h.spawn(['virsh', '-c', 'qemu:///system', 'event', '--all', '--loop', '--timestamp'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let buf = '';
      p.stdout!.setEncoding('utf8');
      p.stdout!.on('data', (chunk: string) => {
        buf += chunk;
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          const e = parseLifecycleLine(h.name, buf.slice(0, i));
          buf = buf.slice(i + 1);
          if (e) this.events.push(e);
        }
      });
      this.procs.push(p);
    }
  }

  /** True while every watcher still runs (one that exited has missed events). */
  get alive(): boolean {
    return this.procs.every((p) => p.exitCode === null && p.signalCode === null);
  }

  stop(): void {
    for (const p of this.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
  }
}

const STATES: Record<string, string> = {
  running: 'SERVER_STATE_RUNNING',
  idle: 'SERVER_STATE_RUNNING',
  paused: 'SERVER_STATE_PAUSED',
  'shut off': 'SERVER_STATE_SHUTOFF',
  'in shutdown': 'SERVER_STATE_SHUTDOWN',
  crashed: 'SERVER_STATE_CRASHED',
  pmsuspended: 'SERVER_STATE_SUSPENDED',
};

/** A `virsh dominfo` State as the admin API's server state (an unknown one stays visible, and so fails the power-state check). */
export function serverState(libvirtState: string): string {
  return STATES[libvirtState] ?? `unknown libvirt state "${libvirtState}"`;
}

/** `virsh dominfo` / `virsh nodeinfo` output as key → value. */
export function parseInfo(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  return out;
}

function kib(v: string | undefined): number {
  const m = /^(\d+)\s*KiB$/.exec(v ?? '');
  if (!m) throw new Error(`not a KiB size: ${JSON.stringify(v)}`);
  return Number(m[1]) * 1024;
}

const virsh = (h: LabHost, args: string[]) => h.exec(['virsh', '-q', '-c', 'qemu:///system', ...args], { timeoutMs: 30_000 }).then((r) => r.stdout);

/** One host's domains and size, from libvirt. */
export async function readHost(h: LabHost): Promise<SimState['hosts'][number]> {
  const node = parseInfo(await virsh(h, ['nodeinfo']));
  const names = (await virsh(h, ['list', '--all', '--name']))
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
  const servers = [];
  for (const name of names) {
    const info = parseInfo(await virsh(h, ['dominfo', '--domain', name]));
    const state = info.get('State') ?? '';
    servers.push({
      uuid: info.get('UUID') ?? '',
      name,
      state: serverState(state),
      memoryBytes: kib(info.get('Max memory')),
      vcpus: Number(info.get('CPU(s)')),
    });
  }
  return { hostId: h.name, memoryTotalBytes: kib(node.get('Memory size')), logicalCpus: Number(node.get('CPU(s)')), servers };
}

/** The lab agents' migration records (the source agent keeps each), read from their files. */
export async function agentRecords(hosts: LabHost[], stateDir: string): Promise<SimState['agentMigrations']> {
  const out: SimState['agentMigrations'] = [];
  for (const h of hosts) {
    const dir = h.path(path.join(stateDir, 'migrations'));
    const files = await readdir(dir).catch(() => [] as string[]);
    for (const f of files.filter((n) => n.endsWith('.json'))) {
      try {
        const m = JSON.parse(await readFile(path.join(dir, f), 'utf8')).migration;
        out.push({
          migrationId: m.migration_id,
          serverUuid: m.server_uuid,
          sourceHostId: h.name,
          startedAtMs: Number(m.started_at_ms),
          finishedAtMs: Number(m.finished_at_ms ?? 0),
        });
      } catch {
        // A record being rewritten right now (temp file renamed over it): the next read has it.
      }
    }
  }
  return out;
}

/** Everything the invariant check reads, from libvirt and the agents' files. */
export async function readLibvirtState(
  lab: Lab,
  events: LifecycleEvent[],
  initial: Map<string, string>,
  uuidOf: Map<string, string>,
  stateDir: string,
): Promise<SimState> {
  return {
    hosts: await Promise.all(lab.hosts.map((h) => readHost(h))),
    starts: migrationStarts(events, initial, uuidOf),
    agentMigrations: await agentRecords(lab.hosts, stateDir),
  };
}
