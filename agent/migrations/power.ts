// Powering a server down and back up around a move: the graceful shutdown
// with a deadline (also the StopServer call of agent/server.ts), and giving
// a server whose cold move failed its running state back on the source.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../common/logging.ts';
import { DeadlineExceededError, NotFoundError, errorMessage } from '../../common/errors.ts';
import type { Hypervisor, Server } from '../hypervisor/hypervisor.ts';

const isOff = (s: Server) => s.state === 'SERVER_STATE_SHUTOFF' || s.state === 'SERVER_STATE_CRASHED';

/**
 * Graceful shutdown with a deadline, then (if `force`) a hard power off.
 * Resolves 'already-off', 'shutdown' or 'destroyed'.
 */
export async function stopServer(
  hv: Hypervisor,
  uuid: string,
  opts: { timeoutMs: number; force: boolean; signal?: AbortSignal; pollMs?: number },
): Promise<'already-off' | 'shutdown' | 'destroyed'> {
  const pollMs = opts.pollMs ?? 250;
  if (isOff(await hv.getServer(uuid, opts.signal))) return 'already-off';
  await hv.shutdown(uuid, opts.signal);
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline) {
    await sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())), undefined, opts.signal ? { signal: opts.signal } : undefined);
    if (isOff(await hv.getServer(uuid, opts.signal))) return 'shutdown';
  }
  if (!opts.force) {
    throw new DeadlineExceededError(`server ${uuid} did not shut down within ${opts.timeoutMs} ms`);
  }
  await hv.destroy(uuid, opts.signal);
  return 'destroyed';
}

/**
 * A cold move failed while the definition was still here: give the server
 * back the power state it had (running), whatever point the shutdown
 * reached (asked, in progress, done). Waits up to `settleMs` for a shutdown
 * in progress to finish. Never throws: the caller's error says what failed.
 */
export async function restoreRunningHere(hv: Hypervisor, uuid: string, settleMs: number, log: Logger): Promise<void> {
  const deadline = Date.now() + settleMs;
  try {
    while (Date.now() < deadline) {
      const s = await hv.getServer(uuid);
      if (s.state === 'SERVER_STATE_RUNNING') return; // it never went down (ACPI ignored)
      if (s.state === 'SERVER_STATE_SHUTOFF' || s.state === 'SERVER_STATE_CRASHED') {
        await hv.start(uuid);
        log.info('cold move failed before the switch: restarted on the source');
        return;
      }
      await sleep(250); // shutting down: wait for it to finish, then start
    }
    log.error('cold move failed and the server did not settle on the source in time');
  } catch (err) {
    // NotFound: the definition did move after all; the caller's error says what failed.
    if (!(err instanceof NotFoundError)) log.error({ err: errorMessage(err) }, 'could not restart the server on the source after a failed cold move');
  }
}
