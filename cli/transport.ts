// Whether the CLI may send its bearer token over the connection it is about
// to open. A token in clear text can be read (and replayed) by anyone on the
// path, so without TLS it only goes to a loopback address (or a local
// socket); anything else needs --insecure, asked for by name on each run.
// Decided before any connection is opened: a refused run sends nothing.
import { BlockList, isIP } from 'node:net';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

function hostIsLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost') return true;
  const kind = isIP(h);
  if (kind === 4) return LOOPBACK.check(h, 'ipv4');
  if (kind === 6) {
    // An IPv4-mapped address (::ffff:127.0.0.1) is IPv4 on the wire.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h)?.[1];
    return mapped ? LOOPBACK.check(mapped, 'ipv4') : LOOPBACK.check(h, 'ipv6');
  }
  return false;
}

/** The host of "host:port", "[v6]:port", a bare host or a bare IPv6 address. */
function hostOf(hostPort: string): string {
  if (hostPort.startsWith('[')) {
    const end = hostPort.indexOf(']');
    return end < 0 ? hostPort : hostPort.slice(1, end);
  }
  const colons = hostPort.split(':').length - 1;
  if (colons === 0) return hostPort;
  if (colons === 1) return hostPort.slice(0, hostPort.indexOf(':'));
  return hostPort; // bare IPv6
}

/**
 * True when a gRPC target (what --address takes: host:port, [v6]:port,
 * dns:host:port, dns:///host:port, ipv4:/ipv6: lists, unix:path) reaches
 * only this machine. Anything not understood is not loopback.
 */
export function isLoopbackTarget(address: string): boolean {
  const a = address.trim();
  if (a === '') return false;
  // A Unix socket never leaves the host.
  if (/^unix(-abstract)?:/.test(a)) return true;
  let m = /^dns:(?:\/\/([^/]*)\/)?(.*)$/.exec(a);
  if (m) {
    // dns://SERVER/host asks another resolver: it could answer anything.
    if (m[1]) return false;
    return hostIsLoopback(hostOf(m[2]!));
  }
  m = /^ipv[46]:(.*)$/.exec(a);
  if (m) {
    const parts = m[1]!.split(',');
    return parts.length > 0 && parts.every((p) => hostIsLoopback(hostOf(p.trim())));
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(a)) return false;
  return hostIsLoopback(hostOf(a));
}

export interface TransportDecision {
  /** Whether the run may go on. */
  allowed: boolean;
  /** --insecure is in force: the token goes without TLS wherever --address points (warn loudly). */
  insecure: boolean;
}

/**
 * May a run with these settings send its token? Refused: a token, no TLS
 * (no --ca) and an address that is not loopback, unless --insecure.
 */
export function decideTransport(s: { address: string; token: string; caFile: string; insecure?: boolean }): TransportDecision {
  const clearText = s.token !== '' && s.caFile === '';
  const insecure = s.insecure === true;
  return {
    allowed: !clearText || insecure || isLoopbackTarget(s.address),
    insecure: clearText && insecure,
  };
}
