// What ListServers answers. Listing a whole host is not cheap with libvirt
// (a virsh dumpxml per domain), and the coordinator asks a host about the
// one or two servers its events name after every move on it: a question
// about a few servers reads those servers alone (a few virsh calls each),
// not every domain of the host.
import { ServerNotFoundError } from './hypervisor/errors.ts';
import { mapLimit } from './hypervisor/map-limit.ts';
import type { Hypervisor, Server } from './hypervisor/hypervisor.ts';

/** Up to this many servers asked by uuid are read one by one; more, and the whole host is listed and filtered. */
export const NAMED_READ_MAX = 16;

/** Reads of named servers at once. */
const NAMED_READ_CONCURRENCY = 4;

/**
 * The host's servers, or only those whose uuid is in `wanted` (lower case;
 * empty = every server). A uuid the host does not hold is left out.
 */
export async function listedServers(hv: Hypervisor, wanted: ReadonlySet<string>, signal?: AbortSignal): Promise<Server[]> {
  if (wanted.size === 0) return hv.listServers(signal);
  if (wanted.size > NAMED_READ_MAX) return (await hv.listServers(signal)).filter((s) => wanted.has(s.uuid.toLowerCase()));
  const found = await mapLimit([...wanted], NAMED_READ_CONCURRENCY, async (uuid) => {
    try {
      return await hv.getServer(uuid, signal);
    } catch (err) {
      if (err instanceof ServerNotFoundError) return undefined;
      throw err;
    }
  });
  // A lookup by a uuid-shaped name could find another domain: only the server with that uuid answers for it.
  return found.filter((s): s is Server => s !== undefined && wanted.has(s.uuid.toLowerCase()));
}
