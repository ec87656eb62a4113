// A short digest of the servers a host holds and their states, carried in
// every heartbeat (servers_digest). The coordinator computes the same digest
// from its records of that host: equal digests mean the records agree with
// the agent on which servers are there and in which state, so the reconcile
// pass need not ask that agent for its listing (coordinator/inventory/
// reconcile-targets.ts). Order does not matter; uuids in any case and states
// in either spelling ("SERVER_STATE_RUNNING" from agents, "running" in
// records) give the same digest.
import { createHash } from 'node:crypto';

const PREFIX = 'SERVER_STATE_';

/** The record spelling of a state: "SERVER_STATE_SHUT_OFF" and "shut_off" both give "shut_off". */
function shortState(state: string): string {
  return (state.startsWith(PREFIX) ? state.slice(PREFIX.length) : state).toLowerCase();
}

export function serversDigest(servers: Iterable<{ uuid: string; state: string }>): string {
  const lines: string[] = [];
  for (const s of servers) lines.push(`${s.uuid.toLowerCase()} ${shortState(s.state)}`);
  lines.sort();
  return createHash('sha256').update(lines.join('\n')).digest('base64url').slice(0, 22);
}
