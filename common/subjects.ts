// NATS wire names: the contract between agents and coordinators (docs/design.md §3).
export const SUBJECT_PREFIX = 'drydock.v1';

export const subjects = {
  hostFacts: (hostId: string) => `${SUBJECT_PREFIX}.hosts.${hostId}.facts`,
  hostHeartbeat: (hostId: string) => `${SUBJECT_PREFIX}.hosts.${hostId}.heartbeat`,
  hostEvents: (hostId: string) => `${SUBJECT_PREFIX}.hosts.${hostId}.events`,
  /** Every subject of one host: what its NATS identity may publish on (common/nats-permissions.ts). */
  hostAll: (hostId: string) => `${SUBJECT_PREFIX}.hosts.${hostId}.>`,
  opEvents: (opId: string) => `${SUBJECT_PREFIX}.ops.${opId}.events`,
  allFacts: `${SUBJECT_PREFIX}.hosts.*.facts`,
  allHeartbeats: `${SUBJECT_PREFIX}.hosts.*.heartbeat`,
  allHostEvents: `${SUBJECT_PREFIX}.hosts.*.events`,
  allOpEvents: `${SUBJECT_PREFIX}.ops.*.events`,
  audit: (method: string) => `${SUBJECT_PREFIX}.audit.${method}`,
} as const;

/**
 * The host a host subject (`drydock.v1.hosts.<id>.<kind>`) belongs to, or
 * undefined for any other subject. A host speaks only for itself: a
 * message's body must name this host (coordinator/inventory/inventory.ts).
 */
export function hostOfSubject(subject: string): string | undefined {
  const head = `${SUBJECT_PREFIX}.hosts.`;
  if (!subject.startsWith(head)) return undefined;
  const rest = subject.slice(head.length).split('.');
  return rest.length === 2 && rest[0] !== '' ? rest[0] : undefined;
}

/** JetStream KV buckets of the coordinator's state. */
export const buckets = {
  zones: 'drydock_zones',
  hosts: 'drydock_hosts',
  servers: 'drydock_servers',
  /** Operation headers (coordinator/operations/op-layout.ts). */
  operations: 'drydock_operations',
  /** One entry per step of an operation, key "<op id>.<index>". */
  operationSteps: 'drydock_operation_steps',
  /** The operations not yet finished, key = op id: the engine's work list. */
  activeOperations: 'drydock_operations_active',
  leader: 'drydock_leader',
  /** Hosts an operator admitted (issued NATS credentials to): coordinator/admission.ts. */
  admittedHosts: 'drydock_admitted_hosts',
} as const;

/** Streams: the audit log of mutating admin calls, operation events. */
export const streams = {
  audit: { name: 'DRYDOCK_AUDIT', subjects: [`${SUBJECT_PREFIX}.audit.>`] },
  opEvents: { name: 'DRYDOCK_OP_EVENTS', subjects: [`${SUBJECT_PREFIX}.ops.*.events`] },
} as const;

/** Heartbeat published by an agent every 2 s. */
export interface HeartbeatMessage {
  host_id: string;
  incarnation: string;
  boot_id: string;
  memory_free_bytes: number;
  server_count: number;
  running_count: number;
  /** common/servers-digest.ts over the servers counted (absent from older agents). */
  servers_digest?: string;
  sent_at_ms: number;
  grpc_endpoint: string;
}

/** A server lifecycle event from `virsh event --loop` (or the sim). */
export interface HostEventMessage {
  host_id: string;
  incarnation: string;
  /** libvirt event name: "lifecycle", "job-completed", ... */
  event: string;
  server_uuid: string;
  server_name: string;
  /** libvirt detail, e.g. "Started Migrated", "Stopped Shutdown". */
  detail: string;
  at_ms: number;
}
