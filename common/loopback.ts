// Whether a "host:port" address stays on this machine: the one place that
// decides when a listener or a plaintext connection may go without TLS
// (agent/config.ts, coordinator/agent-client.ts).
import { BlockList, isIP } from 'node:net';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * True for 127.0.0.0/8, ::1 and "localhost". Wildcards (0.0.0.0, [::]) and
 * every other name are not loopback: a name may resolve anywhere.
 */
export function isLoopbackAddress(hostPort: string): boolean {
  const m = /^(\[([^\]]+)\]|([^:]+)):\d+$/.exec(hostPort);
  const host = m ? (m[2] ?? m[3]!) : hostPort;
  if (host.toLowerCase() === 'localhost') return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}
