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

const STORE_LIMIT = 48 * MiB;
const FULL_FOR_MS = 5000;
const FILL = 'CHAOS_FILL';

export function runStoreFull(ctx: TrialContext): Promise<TrialResult> {
  return drainTrial(ctx, { maxFileStoreBytes: STORE_LIMIT, bandwidthBps: 256 * MiB }, async (w, opId, trial) => {
    const base = await untilDone(w, opId, Math.floor(ctx.random() * ctx.servers * 0.5), () => trial.ended);
    const nc = await w.nats.connect();
    const notes: string[] = [];
    try {
      const jsm = await nc.jetstreamManager();
      const js = nc.jetstream();
      await jsm.streams.add({ name: FILL, subjects: ['chaos.fill'], storage: StorageType.File });
      const chunk = new Uint8Array(512 * 1024);
      let filled = 0;
      let refusal = '';
      while (filled < 2 * STORE_LIMIT) {
        try {
          await js.publish('chaos.fill', chunk);
          filled += chunk.length;
        } catch (err) {
          refusal = errorMessage(err);
          break;
        }
      }
      const fullAt = Date.now();
      const startsBefore = w.sims.fabric.migrations.length;
      notes.push(`filled ${(filled / MiB).toFixed(1)} MiB after ${base} finished step(s); JetStream then said: ${refusal || '(nothing: the store never filled)'}`);
      await sleep(FULL_FOR_MS);
      const op = await w.call('GetOperation', { operation_id: opId }).catch((err: unknown) => ({ state: `unreadable: ${errorMessage(err)}`, reason: '', steps: [] }));
      notes.push(
        `after ${FULL_FOR_MS / 1000} s full: operation ${op.state} (${op.reason || 'no reason given'}), ${doneSteps(op)} step(s) done, ${w.sims.fabric.migrations.length - startsBefore} migration(s) started while full (${((Date.now() - fullAt) / 1000).toFixed(1)} s)`,
      );
      await jsm.streams.delete(FILL);
      const freedAt = Date.now();
      trial.recoveryMs = await timeToProgress(w, opId, freedAt, doneSteps(op), () => trial.ended);
    } finally {
      await nc.close();
    }
    return notes;
  });
}
