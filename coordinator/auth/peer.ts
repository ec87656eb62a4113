// Who is knocking, as far as rate limits and refusal summaries care: the
// remote address of a gRPC call without its port. An IPv6 caller is taken
// by its /64, the block one site or one host usually gets, so cycling the
// low 64 bits buys no fresh quota.
import { isIPv4, isIPv6 } from 'node:net';

/** Expands an IPv6 address to its eight 16-bit groups (no zone id, no embedded IPv4). */
function ipv6Groups(addr: string): number[] | null {
  const halves = addr.split('::');
  if (halves.length > 2) return null;
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => Number.parseInt(g, 16)));
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  const fill = 8 - head.length - tail.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return null;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

/**
 * The peer key of `call.getPeer()` ("1.2.3.4:5678", "::1:5678",
 * "::ffff:1.2.3.4:5678"): the IPv4 address, or the IPv6 /64 as "a:b:c:d::/64".
 * Anything else (a unix socket path) is its own key.
 */
export function peerKey(peer: string): string {
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(peer);
  let addr = m ? m[1]! : peer;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  if (mapped) addr = mapped[1]!;
  if (isIPv4(addr)) return addr;
  if (isIPv6(addr)) {
    const g = ipv6Groups(addr.replace(/%.*$/, ''));
    // Loopback (::1) stays one address: on one machine the /64 would be everything.
    if (g && !(g.slice(0, 7).every((x) => x === 0) && g[7] === 1))
      return `${g
        .slice(0, 4)
        .map((x) => x.toString(16))
        .join(':')}::/64`;
    return addr;
  }
  return peer;
}
