// The NATS store filling up mid-drain: a single node with a small JetStream
// file store; another stream (as a careless neighbour would) fills it until
// JetStream refuses writes, stays for a while, and is deleted. While full,
// no migration may start without its record written first (the invariant
// check attributes every hypervisor start to a migration id); afterwards the
// drain must move again by itself.
import { setTimeout as sleep } from 'node:timers/promises';
import { StorageType } from 'nats';
import { errorMessage } from '../../common/errors.ts';
import { doneSteps, timeToProgress, untilDone } from './drain.ts';
import { drainTrial, type TrialContext, type TrialResult } from './trial.ts';
import { MiB } from './world.ts';

// The audit stream reserves its bound (256 MiB by default; the tests' host
// admission opens it with the default) against the limit: 48 MiB stay free.
const STORE_LIMIT = 304 * MiB;
const FULL_FOR_MS = 5000;
const FILL = 'CHAOS_FILL';

export function runStoreFull(ctx: TrialContext): Promise<TrialResult> {
  return drainTrial(ctx, { maxFileStoreBytes: STORE_LIMIT, bandwidthBps: 256 * MiB }, async (w, opId, trial) => {
    const base = await untilDone(w, opId, Math.floor(ctx.random() * ctx.servers * 0.5), () => trial.ended);
    const nc = await w.nats.connect();
    const notes: string[] = [];
    const findings = trial.findings;
    try {
      const jsm = await nc.jetstreamManager();
      const js = nc.jetstream();
      await jsm.streams.add({ name: FILL, subjects: ['chaos.fill'], storage: StorageType.File });
      // To the brim: a refused chunk is halved until even 256 bytes are refused
      // (a store refusing 512 KiB still took small KV writes for seconds).
      let chunk = 512 * 1024;
      let filled = 0;
      let refusal = '';
      while (filled < 2 * STORE_LIMIT && chunk >= 256) {
        try {
          await js.publish('chaos.fill', new Uint8Array(chunk));
          filled += chunk;
        } catch (err) {
          refusal = errorMessage(err);
          chunk /= 2;
        }
      }
      const fullAt = Date.now();
      const startsBefore = w.sims.fabric.migrations.length;
      notes.push(
        `filled ${(filled / MiB).toFixed(1)} MiB after ${base} finished step(s); JetStream then said: ${refusal || '(nothing: the store never filled)'}`,
      );
      await sleep(FULL_FOR_MS);
      const op = await w
        .call('GetOperation', { operation_id: opId })
        .catch((err: unknown) => ({ state: `unreadable: ${errorMessage(err)}`, reason: '', steps: [] }));
      notes.push(
        `after ${FULL_FOR_MS / 1000} s full: operation ${op.state} (${op.reason || 'no reason given'}), ${doneSteps(op)} step(s) done, ${w.sims.fabric.migrations.length - startsBefore} migration(s) started while full (${((Date.now() - fullAt) / 1000).toFixed(1)} s)`,
      );
      // What the coordinators said while full (their logs are the only place that can say it then).
      const said = w.coordinators.flatMap((c) =>
        c.proc.lines.filter((l) => Date.parse(String(l.time)) >= fullAt && Number(l.level) >= 40).map((l) => String(l.err ?? l.msg)),
      );
      if (said.length) notes.push(`coordinator log while full (${said.length} warn/error lines), first: ${JSON.stringify(said[0]!.slice(0, 160))}`);
      if (op.state === 'OPERATION_STATE_RUNNING' || (op.state === 'OPERATION_STATE_PAUSED' && !/store is full/.test(op.reason))) {
        findings.push(
          `while the JetStream store is full the drain stops (no migration starts: its record cannot be written first) but the operation reads ${op.state} "${op.reason}": it does not say that the store is full.`,
        );
      }
      await jsm.streams.delete(FILL);
      const freedAt = Date.now();
      trial.recoveryMs = await timeToProgress(w, opId, freedAt, doneSteps(op), () => trial.ended);
    } finally {
      await nc.close();
    }
    return notes;
  });
}
