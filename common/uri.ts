// The one rule for what names another machine: libvirt connection URIs
// (they reach `virsh -c URI` and `virsh migrate --desturi URI`) and gRPC
// endpoints (the coordinator dials them). Both arrive from hosts — a host's
// facts and heartbeats on NATS, MigrateServer's target_uri — so they are
// untrusted input, checked here and nowhere else.
//
// libvirt URIs: no query string at all. libvirt's remote driver reads extra
// parameters from it, and several turn a URI into code execution or a
// weakened connection in the process that opens it (root, on the source
// host of a migration): `command` names the program run for the ssh/ext
// transports, `netcat`, `socket`, `keyfile`, `pkipath`, `known_hosts` name
// programs or files, `no_verify` and `known_hosts_verify` switch off peer
// verification, `sshauth`, `mode`, `proxy`, `name`, `tls_priority`, `no_tty`
// change how and where it connects. drydock needs none of them, so the
// allow-list is empty; a parameter is added only if it can name no program
// or file and cannot weaken verification. Also refused: user-info (`user@`,
// only meaningful for ssh), the ssh/libssh/libssh2/ext transports (they run
// or configure a client program), percent-encoding (it would hide any of
// the above from a textual check), whitespace and anything that is not a
// plain host name, IPv4 address or bracketed IPv6 address.
import { isIPv4, isIPv6 } from 'node:net';
import { InvalidArgumentError } from './errors.ts';

/** Longest URI or endpoint accepted (a host name is at most 253 characters). */
const MAX_LENGTH = 300;

/**
 * Schemes drydock uses, and the one path each may name. Local ones (no
 * host) open this host's own daemon; remote ones need a host.
 */
const SCHEMES: Record<string, { path: string; host: 'none' | 'required' | 'optional' }> = {
  // qemu:///system is the local daemon; qemu://HOST/system is TLS to HOST.
  qemu: { path: '/system', host: 'optional' },
  'qemu+tls': { path: '/system', host: 'required' },
  'qemu+tcp': { path: '/system', host: 'required' },
  'qemu+unix': { path: '/system', host: 'none' },
  // libvirt's built-in test driver (tests without a libvirtd).
  test: { path: '/default', host: 'none' },
};

/** A DNS label as drydock host ids allow it ('_' included); never a leading '-' (it would read as an option). */
const LABEL_RE = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$/;

/** Shortened, quoted copy of untrusted text for an error message (logs must not carry huge strings). */
export function quoteShort(value: string, max = 80): string {
  return value.length <= max ? JSON.stringify(value) : `${JSON.stringify(value.slice(0, max))}… (${value.length} characters)`;
}

/**
 * Why `host` is not an acceptable host, or '' if it is: a host name (labels
 * of letters, digits, '_' and '-', not starting with '-'), a dotted IPv4
 * address without leading zeros, or a bracketed IPv6 address without zone.
 */
function hostProblem(host: string): string {
  if (host.startsWith('[')) {
    if (!host.endsWith(']')) return 'an IPv6 address must be in brackets';
    const addr = host.slice(1, -1);
    return isIPv6(addr) && !addr.includes('%') ? '' : 'not an IPv6 address';
  }
  if (isIPv4(host)) return '';
  if (host.length === 0 || host.length > 253) return 'no host name';
  const labels = host.split('.');
  if (!labels.every((l) => LABEL_RE.test(l))) return 'not a host name';
  // A last label of digits or 0x-hex is read by the resolver as (part of) a
  // numeric address ("127.1", "0x7f000001"): only dotted-quad IPv4 is taken.
  const last = labels[labels.length - 1]!;
  if (/^[0-9]+$/.test(last) || /^0x[0-9a-f]*$/i.test(last)) return 'a numeric host that is not a dotted-quad IPv4 address';
  return '';
}

function portProblem(port: string): string {
  if (!/^[1-9][0-9]{0,4}$/.test(port) || Number(port) > 65535) return 'port must be 1-65535';
  return '';
}

/** Splits "host:port" / "[v6]:port" / "host" / "[v6]"; port undefined when absent. */
function splitHostPort(authority: string): { host: string; port: string | undefined } {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    if (end < 0) return { host: authority, port: undefined };
    const rest = authority.slice(end + 1);
    return { host: authority.slice(0, end + 1), port: rest.startsWith(':') ? rest.slice(1) : rest === '' ? undefined : rest };
  }
  const i = authority.lastIndexOf(':');
  return i < 0 ? { host: authority, port: undefined } : { host: authority.slice(0, i), port: authority.slice(i + 1) };
}

/** Why `value` is not an acceptable libvirt URI, or '' if it is. */
export function libvirtUriProblem(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) return 'empty';
  if (value.length > MAX_LENGTH) return `longer than ${MAX_LENGTH} characters`;
  if (/[^\x21-\x7e]/.test(value)) return 'contains whitespace or non-printable characters';
  if (value.includes('%')) return 'percent-encoding is not accepted';
  if (value.includes('?')) return 'URI parameters (?...) are not accepted: libvirt reads programs, files and verification switches from them';
  if (value.includes('#')) return 'a fragment (#...) is not accepted';
  const m = /^([a-z0-9+]+):\/\/([^/]*)(\/.*)?$/.exec(value);
  if (!m) return 'not of the form scheme://[host[:port]]/path';
  const [, scheme, authority, path] = m as unknown as [string, string, string, string | undefined];
  const rule = SCHEMES[scheme];
  if (!rule) return `scheme ${JSON.stringify(scheme)} is not one of ${Object.keys(SCHEMES).join(', ')}`;
  if (authority.includes('@')) return 'user-info (user@) is not accepted';
  if (authority === '') {
    if (rule.host === 'required') return `${scheme}:// needs a host`;
  } else {
    if (rule.host === 'none') return `${scheme}:// is local: no host`;
    const { host, port } = splitHostPort(authority);
    const hp = hostProblem(host);
    if (hp) return hp;
    if (port !== undefined) {
      const pp = portProblem(port);
      if (pp) return pp;
    }
  }
  if (path !== rule.path) return `the path of a ${scheme} URI must be ${rule.path}`;
  return '';
}

export function isLibvirtUri(value: unknown): value is string {
  return libvirtUriProblem(value) === '';
}

export function assertLibvirtUri(field: string, value: string): string {
  const p = libvirtUriProblem(value);
  if (p) throw new InvalidArgumentError(field, `${quoteShort(String(value))} is not an acceptable libvirt URI: ${p}`);
  return value;
}

/** Why `value` is not an acceptable gRPC endpoint (host:port), or '' if it is. */
export function grpcEndpointProblem(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) return 'empty';
  if (value.length > MAX_LENGTH) return `longer than ${MAX_LENGTH} characters`;
  if (/[^\x21-\x7e]/.test(value)) return 'contains whitespace or non-printable characters';
  if (!/^[A-Za-z0-9_.:[\]-]+$/.test(value)) return 'only host:port is accepted (no scheme, user-info, path or encoding)';
  const { host, port } = splitHostPort(value);
  if (port === undefined) return 'needs a port (host:port)';
  return hostProblem(host) || portProblem(port);
}

export function isGrpcEndpoint(value: unknown): value is string {
  return grpcEndpointProblem(value) === '';
}

export function assertGrpcEndpoint(field: string, value: string): string {
  const p = grpcEndpointProblem(value);
  if (p) throw new InvalidArgumentError(field, `${quoteShort(String(value))} is not an acceptable host:port: ${p}`);
  return value;
}
