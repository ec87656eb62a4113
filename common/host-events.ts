// Which libvirt domain events say something about a server that its
// record could need (its state, its definition, its devices), and which
// only report the progress of a job on it. A live migration raises a
// migration-iteration per copy pass and a job-completed at its end, a
// disk copy block-job events as it goes: none changes what ListServers
// reports, and the move's own lifecycle events (suspended, stopped,
// undefined, defined, started, resumed) follow anyway. So job events are
// neither published by an agent nor a reason for the coordinator to ask a
// host about its servers (an older agent may still send them).

/** Events about the progress of a job (migration, block copy), never about the server's state or definition. */
const JOB_PROGRESS_EVENTS: ReadonlySet<string> = new Set(['migration-iteration', 'job-completed', 'block-job', 'block-job-2', 'block-threshold']);

/** Whether a domain event (libvirt's name, e.g. "lifecycle") may mean the host's report about that server changed. */
export function mayChangeServerReport(event: string): boolean {
  return !JOB_PROGRESS_EVENTS.has(event);
}
