// Polling with a deadline and cancellation, for waits on state that has no
// event to wait on (hosts coming online, the inventory filling up).
import { setTimeout as sleep } from 'node:timers/promises';

export async function poll(
  what: string,
  check: () => Promise<unknown> | unknown,
  { timeoutMs, everyMs = 250, signal }: { timeoutMs: number; everyMs?: number; signal?: AbortSignal },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    signal?.throwIfAborted();
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${(last as Error).message ?? String(last)}` : ''}`);
    await sleep(everyMs, undefined, signal ? { signal } : {});
  }
}
