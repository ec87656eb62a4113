// The record of a running `npm start`: who owns it and which root-namespace
// processes it started (the nats-server). Everything else it starts lives in
// the lab's namespaces, which the lab's own leftover cleanup removes; the
// nats-server does not, so a run that crashed is found and ended here, by
// pid and process start time (a reused pid is never signalled).
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processAlive, processStartTime } from '../lab/exec.ts';
import { cleanLeftover } from '../lab/state.ts';
import { DEFAULT_STATE_ROOT } from '../lab/index.ts';

export interface ProcessRef {
  pid: number;
  /** Start time from /proc/<pid>/stat: tells a live process from a reused pid. */
  start: number;
}

export interface RunRecord {
  owner: ProcessRef;
  lab: string;
  nats?: ProcessRef;
  address?: string;
  startedAt: string;
}

const FILE = 'run.json';

export async function processRef(pid: number): Promise<ProcessRef | undefined> {
  const start = await processStartTime(pid);
  return start === null ? undefined : { pid, start };
}

export async function readRunRecord(stateDir: string): Promise<RunRecord | null> {
  try {
    return JSON.parse(await readFile(path.join(stateDir, FILE), 'utf8')) as RunRecord;
  } catch {
    return null;
  }
}

export async function writeRunRecord(stateDir: string, rec: RunRecord): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  const file = path.join(stateDir, FILE);
  // Atomic: a crash mid-write must not leave a record the next run cannot read.
  await writeFile(`${file}.tmp`, JSON.stringify(rec, null, 2) + '\n');
  await rename(`${file}.tmp`, file);
}

export async function removeRunRecord(stateDir: string): Promise<void> {
  await rm(path.join(stateDir, FILE), { force: true });
}

/** SIGTERM, then SIGKILL after `graceMs`, only while the pid still is the recorded process. */
export async function endProcess(ref: ProcessRef, graceMs = 5000): Promise<boolean> {
  if (!(await processAlive(ref.pid, ref.start))) return false;
  process.kill(ref.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!(await processAlive(ref.pid, ref.start))) return true;
    await sleep(50);
  }
  if (await processAlive(ref.pid, ref.start)) process.kill(ref.pid, 'SIGKILL');
  return true;
}

/**
 * Cleans what a previous run under this state directory left behind when it
 * died without tearing down. Refuses while that run is still alive: two
 * `npm start`s would fight over the lab and the admin port.
 */
export async function cleanPreviousRun(stateDir: string, log: (m: string) => void): Promise<void> {
  const rec = await readRunRecord(stateDir);
  if (!rec) return;
  if (rec.owner.pid !== process.pid && (await processAlive(rec.owner.pid, rec.owner.start))) {
    throw new Error(
      `another npm start is running (pid ${rec.owner.pid}, state ${stateDir}${rec.address ? `, admin API ${rec.address}` : ''}): stop it with Ctrl-C, or use --state-dir and --lab`,
    );
  }
  log(`cleaning up after a previous run that ended without tearing down (pid ${rec.owner.pid})`);
  if (rec.nats && (await endProcess(rec.nats))) log(`  nats-server pid ${rec.nats.pid} ended`);
  // Its agents, libvirtds and guests live in the lab's namespaces: the lab cleanup ends them.
  if (await cleanLeftover(DEFAULT_STATE_ROOT, rec.lab, log)) log(`  lab ${rec.lab} removed`);
  await removeRunRecord(stateDir);
}
