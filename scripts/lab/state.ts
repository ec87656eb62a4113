// The lab's state file and the cleanup of a lab left behind by a crashed run.
// Everything a later run needs to tear a lab down is in the file or derivable
// from the lab's name: its namespaces all start with `<name>lab-`, and every
// process the lab started lives in one of them.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LabError, processAlive, processStartTime } from './exec.ts';
import type { HostRecord } from './libvirtd.ts';
import { deleteNet, listNetns, netnsPids } from './network.ts';

export const DEFAULT_STATE_ROOT = '/var/tmp/drydock-lab';
/**
 * Lab names end up in namespace, interface and path names; a veth name may be
 * at most 15 bytes (`<name>lab-rt`).
 */
const LAB_NAME_RE = /^[a-z][a-z0-9]{0,5}$/;

export interface LabState {
  name: string;
  /** The process that created the lab and will destroy it. */
  owner: { pid: number; start: number };
  subnet: number;
  bridgeNetns: string;
  rootVeth: string;
  sharedDir: string;
  hosts: HostRecord[];
  createdAt: string;
}

export function assertLabName(name: string): string {
  if (!LAB_NAME_RE.test(name)) throw new LabError(`lab name ${JSON.stringify(name)} must match ${LAB_NAME_RE}`);
  return name;
}

export const netnsPrefix = (name: string) => `${assertLabName(name)}lab-`;
export const labDir = (stateRoot: string, name: string) => join(stateRoot, assertLabName(name));
const statePath = (stateRoot: string, name: string) => join(labDir(stateRoot, name), 'state.json');

export async function readState(stateRoot: string, name: string): Promise<LabState | null> {
  try {
    return JSON.parse(await readFile(statePath(stateRoot, name), 'utf8')) as LabState;
  } catch {
    return null;
  }
}

export async function writeState(stateRoot: string, state: LabState): Promise<void> {
  const path = statePath(stateRoot, state.name);
  await mkdir(labDir(stateRoot, state.name), { recursive: true });
  await writeFile(`${path}.tmp`, JSON.stringify(state, null, 2) + '\n');
  await rename(`${path}.tmp`, path);
}

export async function ownerRecord(): Promise<{ pid: number; start: number }> {
  const start = await processStartTime(process.pid);
  if (start === null) throw new LabError('cannot read our own /proc entry');
  return { pid: process.pid, start };
}

/**
 * Ends every process in the given namespaces: SIGTERM, then SIGKILL after
 * `graceMs`. These are the lab's own (holders, libvirtds, QEMUs, and what
 * tests spawned inside lab hosts); nothing outside the namespaces is touched.
 */
export async function killNamespaceProcesses(namespaces: string[], { graceMs = 5_000 } = {}): Promise<void> {
  const targets: { pid: number; start: number }[] = [];
  for (const ns of namespaces) {
    for (const pid of await netnsPids(ns)) {
      if (pid === process.pid) continue;
      const start = await processStartTime(pid);
      if (start !== null) targets.push({ pid, start });
    }
  }
  const signal = (sig: NodeJS.Signals) => {
    for (const t of targets) {
      try {
        process.kill(t.pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  const alive = async () => (await Promise.all(targets.map((t) => processAlive(t.pid, t.start)))).some(Boolean);
  if (targets.length === 0) return;
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!(await alive())) return;
    await sleep(25);
  }
  // Only those still alive with the same start time: a pid may have been reused.
  for (const t of targets) if (await processAlive(t.pid, t.start)) process.kill(t.pid, 'SIGKILL');
  const killDeadline = Date.now() + graceMs;
  while (await alive()) {
    if (Date.now() > killDeadline) {
      const left = [];
      for (const t of targets) if (await processAlive(t.pid, t.start)) left.push(t.pid);
      throw new LabError(`processes ${left.join(', ')} survive SIGKILL (stuck in the kernel?)`);
    }
    await sleep(25);
  }
}

/** Removes everything of lab `name`: processes, namespaces, root veth, state directory. */
export async function removeLab(stateRoot: string, name: string, state: LabState | null): Promise<void> {
  const prefix = netnsPrefix(name);
  const namespaces = new Set((await listNetns()).filter((ns) => ns.startsWith(prefix)));
  for (const ns of [state?.bridgeNetns, ...(state?.hosts.map((h) => h.netns) ?? [])]) if (ns && ns.startsWith(prefix)) namespaces.add(ns);
  const present = new Set(await listNetns());
  const list = [...namespaces].filter((ns) => present.has(ns));
  await killNamespaceProcesses(list);
  await deleteNet(list, state?.rootVeth ?? `${prefix}rt`);
  await rm(labDir(stateRoot, name), { recursive: true, force: true });
}

/**
 * Cleans a lab of this name left by a run that died. Refuses if the lab's
 * owner is still alive: that is someone else's running lab, not a leftover.
 * Returns true if anything was cleaned.
 */
export async function cleanLeftover(stateRoot: string, name: string, log: (m: string) => void): Promise<boolean> {
  const state = await readState(stateRoot, name);
  if (state && state.owner.pid !== process.pid && (await processAlive(state.owner.pid, state.owner.start))) {
    throw new LabError(`lab ${name} is in use by pid ${state.owner.pid}: use another lab name (and subnet)`);
  }
  const prefix = netnsPrefix(name);
  const leftovers = (await listNetns()).filter((ns) => ns.startsWith(prefix));
  if (!state && leftovers.length === 0) {
    await rm(labDir(stateRoot, name), { recursive: true, force: true });
    return false;
  }
  log(`cleaning leftover lab ${name} (${leftovers.join(', ') || 'state only'})`);
  await removeLab(stateRoot, name, state);
  return true;
}
