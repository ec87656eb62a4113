// The human views of the admin API's objects: one function per object,
// returning text. `--json` bypasses all of this and prints the proto objects.
import type { Zone } from '../common/generated/drydock/admin/v1/Zone.ts';
import type { ZoneCpu } from '../common/generated/drydock/admin/v1/ZoneCpu.ts';
import type { ZonePolicy } from '../common/generated/drydock/admin/v1/ZonePolicy.ts';
import type { Host } from '../common/generated/drydock/admin/v1/Host.ts';
import type { Server } from '../common/generated/drydock/admin/v1/Server.ts';
import type { Plan } from '../common/generated/drydock/admin/v1/Plan.ts';
import type { PlannedServer } from '../common/generated/drydock/admin/v1/PlannedServer.ts';
import type { Operation } from '../common/generated/drydock/admin/v1/Operation.ts';
import {
  enumLabel,
  formatBytes,
  formatDuration,
  formatPercent,
  formatRate,
  formatRelative,
  formatTimestamp,
  renderFields,
  renderTable,
  wrapWords,
  yesNo,
} from './table.ts';
import { actionLabel, kindLabel, phaseLabel, stateLabel, stepBytes, stepName } from './operation-view.ts';

/** Width flag lists are wrapped to (the field column takes ~24 of 100). */
const WRAP = 76;

export const cpuModeLabel = (m: string | undefined): string => enumLabel(m, 'CPU_MODE_');
export const maintenanceLabel = (m: string | undefined): string => enumLabel(m, 'MAINTENANCE_STATE_');

// ------------------------------------------------------------------ zones

/** A table cell of flag names: the first few, then how many more (--json has them all). */
function flagList(flags: readonly string[], max = 8): string {
  if (flags.length <= max) return flags.join(',');
  return `${flags.slice(0, max).join(',')},… (+${flags.length - max})`;
}

export function zonesTable(zones: Zone[]): string {
  return renderTable(
    [
      { header: 'id', value: (z: Zone) => z.id },
      { header: 'name', value: (z) => z.name },
      { header: 'cpu mode', value: (z) => cpuModeLabel(z.cpu_mode) },
      { header: 'cpu model', value: (z) => z.cpu?.model ?? '' },
      { header: 'hosts', value: (z) => z.host_ids.length },
      { header: 'placement', value: (z) => enumLabel(z.policy?.placement, 'PLACEMENT_POLICY_') },
    ],
    zones,
  );
}

/**
 * The zone's effective policy, each value marked "(default)" when the
 * operator left it unset (`set` is Zone.policy_set; absent from older
 * coordinators, then nothing is marked). The values are the coordinator's,
 * never defaults guessed here.
 */
export function policyFields(p: ZonePolicy | null | undefined, set?: ZonePolicy | null): Array<[string, string]> {
  if (!p) return [['Policy', 'coordinator defaults']];
  const n = (v: number) => String(v);
  const s = (v: number) => formatDuration(v);
  const mark = (k: keyof ZonePolicy, text: string) => {
    const v = set?.[k];
    const unset = set != null && (v === 0 || v === false || v === 'PLACEMENT_POLICY_UNSPECIFIED');
    return unset ? `${text} (default)` : text;
  };
  return [
    ['Placement', mark('placement', enumLabel(p.placement, 'PLACEMENT_POLICY_'))],
    ['Migrations per source', mark('max_migrations_per_source', n(p.max_migrations_per_source))],
    ['Migrations per zone', mark('max_migrations_per_zone', n(p.max_migrations_per_zone))],
    ['Incoming per target', mark('max_incoming_per_target', n(p.max_incoming_per_target))],
    ['Stall timeout', mark('stall_timeout_s', s(p.stall_timeout_s))],
    ['Timeout per GiB', mark('timeout_per_gib_s', s(p.timeout_per_gib_s))],
    ['Minimum timeout', mark('min_timeout_s', s(p.min_timeout_s))],
    ['Post-copy allowed', mark('allow_post_copy', yesNo(p.allow_post_copy))],
    ['Auto-converge allowed', mark('allow_auto_converge', yesNo(p.allow_auto_converge))],
    ['CPU overcommit', mark('cpu_overcommit_ratio', `${p.cpu_overcommit_ratio}x`)],
    ['Host memory reserve', mark('host_memory_reserve_bytes', formatBytes(Number(p.host_memory_reserve_bytes)))],
    ['Attempts per server', mark('max_attempts_per_server', n(p.max_attempts_per_server))],
    ['Settle pause', mark('settle_pause_s', s(p.settle_pause_s))],
  ];
}

export function zoneView(z: Zone, now: number): string {
  return (
    renderFields([
      ['ID', z.id],
      ['Name', z.name],
      ['Description', z.description],
      ['CPU mode', cpuModeLabel(z.cpu_mode)],
      ['CPU model', z.cpu ? [z.cpu.model, z.cpu.vendor && `(${z.cpu.vendor})`].filter(Boolean).join(' ') : ''],
      ['Hosts', z.host_ids.join(', ')],
      ['Created', z.created_at_ms ? `${formatTimestamp(z.created_at_ms)} (${formatRelative(z.created_at_ms, now)})` : ''],
      ['Updated', z.updated_at_ms ? formatRelative(z.updated_at_ms, now) : ''],
    ]) +
    '\nPolicy\n' +
    indent(renderFields(policyFields(z.policy, z.policy_set)))
  );
}

export function zoneCpuView(c: ZoneCpu, now: number): string {
  let text = renderFields([
    ['Zone', c.zone_id],
    ['Mode', cpuModeLabel(c.mode)],
    ['Model', c.model],
    ['Vendor', c.vendor],
    ['Flags', wrapWords(c.features, WRAP)],
    ['Extra flags', wrapWords(c.extra_features, WRAP)],
    ['Mismatched hosts', c.mismatched_hosts.join(', ')],
    ['Need power cycle', c.servers_needing_power_cycle.join(', ')],
    ['Updated', formatRelative(c.updated_at_ms, now)],
  ]);
  if (c.advice.length > 0) text += `\nAdvice\n${c.advice.map((a) => `  - ${a}`).join('\n')}\n`;
  if (c.history.length > 0) {
    text +=
      '\nHistory\n' +
      indent(
        renderTable(
          [
            { header: 'at', value: (h: ZoneCpu['history'][number]) => formatTimestamp(h.at_ms) },
            { header: 'from', value: (h) => h.from_model },
            { header: 'to', value: (h) => h.to_model },
            { header: 'lost', value: (h) => flagList(h.features_lost) },
            // The initial baseline "gains" every flag: a count reads better than 75 names.
            { header: 'gained', value: (h) => (h.from_model ? flagList(h.features_gained) : `${h.features_gained.length} (initial model)`) },
            { header: 'cause', value: (h) => h.cause_host_id || 'operator' },
            { header: 'reason', value: (h) => h.reason },
            // An upgrade's running servers see the new model only after a power cycle.
            { header: 'power cycle', value: (h) => (h.servers_needing_power_cycle?.length ? `${h.servers_needing_power_cycle.length} server(s)` : '') },
          ],
          c.history,
        ),
      );
  }
  return text;
}

// ------------------------------------------------------------------ hosts

/** online / offline, and the maintenance state when there is one ("offline,in-maintenance"). */
export function hostStatus(h: Host): string {
  const m = maintenanceLabel(h.maintenance);
  const inMaintenance = m !== '-' && m !== 'none';
  if (!h.online) return inMaintenance ? `offline,${m}` : 'offline';
  return inMaintenance ? m : 'online';
}

export function hostsTable(hosts: Host[], now: number): string {
  return renderTable(
    [
      { header: 'id', value: (h: Host) => h.id },
      { header: 'hostname', value: (h) => h.hostname },
      { header: 'zone', value: (h) => h.zone_id },
      { header: 'status', value: (h) => hostStatus(h) },
      { header: 'enabled', value: (h) => yesNo(h.enabled) },
      { header: 'servers', value: (h) => h.server_count },
      { header: 'mem free', value: (h) => formatBytes(h.memory_free_bytes), align: 'right' },
      { header: 'mem total', value: (h) => formatBytes(h.memory_total_bytes), align: 'right' },
      { header: 'cpus', value: (h) => h.logical_cpus },
      { header: 'cpu model', value: (h) => h.cpu?.model ?? '' },
      { header: 'storage', value: (h) => h.storage_cluster },
      { header: 'heartbeat', value: (h) => formatRelative(h.last_heartbeat_ms, now) },
    ],
    hosts,
  );
}

export function hostView(h: Host, now: number): string {
  const maintenance = maintenanceLabel(h.maintenance);
  let text = renderFields([
    ['ID', h.id],
    ['Hostname', h.hostname],
    ['Label', h.label],
    ['Zone', h.zone_id],
    ['Enabled', h.enabled ? 'yes (accepts new and migrating servers)' : 'no (receives no servers; its own keep running)'],
    ['Maintenance', h.maintenance_operation_id ? `${maintenance} (operation ${h.maintenance_operation_id})` : maintenance],
    ['Online', h.online ? `yes (heartbeat ${formatRelative(h.last_heartbeat_ms, now)})` : `no (last heartbeat ${formatRelative(h.last_heartbeat_ms, now)})`],
    ['Target', h.not_a_target_because.length === 0 ? 'yes (eligible for placement)' : `no: ${h.not_a_target_because.join('; ')}`],
    [
      'Hypervisor',
      [h.hypervisor_type, h.libvirt_version && `libvirt ${h.libvirt_version}`, h.qemu_version && `QEMU ${h.qemu_version}`].filter(Boolean).join(', '),
    ],
    ['Memory', `${formatBytes(h.memory_free_bytes)} free of ${formatBytes(h.memory_total_bytes)}`],
    ['Logical CPUs', h.logical_cpus],
    ['Servers', h.server_count],
    ['Storage cluster', h.storage_cluster],
    ['Shared pools', h.storage_pools_shared.join(', ')],
    ['gRPC endpoint', h.grpc_endpoint],
    ['Migration URI', h.migration_uri],
    ['Boot ID', h.boot_id],
    ['Registered', h.registered_at_ms ? `${formatTimestamp(h.registered_at_ms)} (${formatRelative(h.registered_at_ms, now)})` : ''],
  ]);
  const c = h.cpu;
  text += '\nCPU\n';
  if (!c) return `${text}  (no CPU facts reported yet)\n`;
  text += indent(
    renderFields([
      ['Model', [c.model, c.vendor && `(${c.vendor})`].filter(Boolean).join(' ')],
      ['Zone compatible', c.compatible ? 'yes' : 'no: never a migration target in this zone'],
      ['Default flags', wrapWords(c.default_flags, WRAP)],
      ['Additional flags', wrapWords(c.additional_flags, WRAP)],
      ['Unmatching (extra)', wrapWords(c.unmatching_extra_flags, WRAP)],
      ['Unmatching (missing)', wrapWords(c.unmatching_missing_flags, WRAP)],
      ['Host flags', `${c.host_flags.length} (--json lists them)`],
      ['Advice', c.advice],
    ]),
  );
  return text;
}

// ------------------------------------------------------------------ servers

export function serversTable(servers: Server[]): string {
  return renderTable(
    [
      { header: 'uuid', value: (s: Server) => s.uuid },
      { header: 'name', value: (s) => s.name },
      { header: 'host', value: (s) => s.host_id },
      { header: 'state', value: (s) => s.state },
      { header: 'vcpus', value: (s) => s.vcpus },
      { header: 'memory', value: (s) => formatBytes(s.memory_bytes), align: 'right' },
      { header: 'local disk', value: (s) => formatBytes(s.local_disk_bytes), align: 'right' },
      { header: 'hot migr', value: (s) => yesNo(s.hot_migration) },
      { header: 'smart', value: (s) => yesNo(s.smart) },
      { header: 'cpu', value: (s) => [s.cpu_mode, s.cpu_model].filter(Boolean).join(' ') },
      { header: 'operation', value: (s) => s.operation_id },
    ],
    servers,
  );
}

// ------------------------------------------------------------------ plans

function plannedTable(servers: PlannedServer[]): string {
  return renderTable(
    [
      { header: 'server', value: (p: PlannedServer) => p.server_name || p.server_uuid.slice(0, 8) },
      { header: 'uuid', value: (p) => p.server_uuid },
      { header: 'action', value: (p) => enumLabel(p.action, 'SERVER_ACTION_') },
      { header: 'target', value: (p) => p.target_host_id },
      { header: 'memory', value: (p) => formatBytes(p.memory_bytes), align: 'right' },
      { header: 'local disk', value: (p) => formatBytes(p.local_disk_bytes), align: 'right' },
      { header: 'running', value: (p) => yesNo(p.was_running) },
      { header: 'est', value: (p) => (p.estimated_seconds ? formatDuration(p.estimated_seconds) : ''), align: 'right' },
      { header: 'reason', value: (p) => p.reason },
    ],
    servers,
  );
}

/** Per-candidate checks, for `maintenance plan --explain`. */
function candidatesView(p: PlannedServer): string {
  const lines: string[] = [`${p.server_name || p.server_uuid} (${enumLabel(p.action, 'SERVER_ACTION_')}${p.target_host_id ? ` -> ${p.target_host_id}` : ''})`];
  if (p.candidates.length === 0) lines.push('  no candidate hosts');
  for (const c of p.candidates) {
    const failing = c.checks.filter((k) => k.verdict !== 'ok');
    const summary = c.eligible ? `eligible, ${formatBytes(Math.max(0, c.memory_free_after_bytes))} free after` : 'not eligible';
    lines.push(`  ${c.host_id}: ${summary}`);
    for (const k of failing) lines.push(`    ${k.verdict} ${k.check}: ${k.reason}`);
  }
  return lines.join('\n') + '\n';
}

export function planView(plan: Plan, explain: boolean): string {
  const est = plan.estimated_seconds ? `, estimated ${formatDuration(plan.estimated_seconds)}` : '';
  const bw = plan.assumed_bandwidth_bps ? ` at ${formatRate(plan.assumed_bandwidth_bps)}` : '';
  let text = `Plan for host ${plan.host_id}${plan.zone_id ? ` (zone ${plan.zone_id})` : ''}: ${plan.servers.length} server(s) to move${est}${bw}\n`;
  if (plan.refusals.length > 0) text += `\nRefused: the plan cannot run\n${plan.refusals.map((r) => `  - ${r}`).join('\n')}\n`;
  if (plan.servers.length > 0) text += `\n${plannedTable(plan.servers)}`;
  if (plan.blockers.length > 0) {
    text += `\nCannot move (enable needs --stop-unmigratable, which stops them):\n${plannedTable(plan.blockers)}`;
  }
  if (plan.warnings.length > 0) text += `\nWarnings\n${plan.warnings.map((w) => `  - ${w}`).join('\n')}\n`;
  if (explain) {
    text += '\nCandidates\n';
    for (const p of [...plan.servers, ...plan.blockers]) text += indent(candidatesView(p));
  }
  return text;
}

// ------------------------------------------------------------------ operations

export function operationsTable(ops: Operation[], now: number): string {
  return renderTable(
    [
      { header: 'id', value: (o: Operation) => o.id },
      { header: 'kind', value: (o) => kindLabel(o.kind) },
      { header: 'host', value: (o) => o.host_id },
      { header: 'state', value: (o) => stateLabel(o.state) },
      { header: 'done', value: (o) => (o.total ? `${o.done}/${o.total}` : ''), align: 'right' },
      { header: 'stage', value: (o) => o.stage },
      { header: 'created', value: (o) => formatRelative(o.created_at_ms, now) },
      { header: 'updated', value: (o) => formatRelative(o.updated_at_ms, now) },
      { header: 'reason', value: (o) => o.reason },
    ],
    ops,
  );
}

export function operationView(o: Operation, now: number): string {
  const took = o.finished_at_ms && o.created_at_ms ? ` (took ${formatDuration((o.finished_at_ms - o.created_at_ms) / 1000)})` : '';
  let text = renderFields([
    ['ID', o.id],
    ['Kind', kindLabel(o.kind)],
    ['Host', o.host_id],
    ['State', stateLabel(o.state)],
    ['Stage', o.stage],
    ['Reason', o.reason],
    ['Progress', o.total ? `${o.done}/${o.total} servers` : ''],
    ['Stop unmigratable', yesNo(o.stop_unmigratable)],
    ['Requested by', o.requested_by],
    ['Created', o.created_at_ms ? `${formatTimestamp(o.created_at_ms)} (${formatRelative(o.created_at_ms, now)})` : ''],
    ['Finished', o.finished_at_ms ? `${formatTimestamp(o.finished_at_ms)}${took}` : ''],
    ['Events', o.last_event_seq],
  ]);
  if (o.steps.length > 0) {
    text +=
      '\nSteps\n' +
      indent(
        renderTable(
          [
            { header: 'server', value: (s: Operation['steps'][number]) => stepName(s) },
            { header: 'action', value: (s) => actionLabel(s) },
            { header: 'phase', value: (s) => phaseLabel(s) },
            { header: 'from', value: (s) => s.source_host_id },
            { header: 'to', value: (s) => s.target_host_id },
            { header: 'progress', value: (s) => (s.percent ? formatPercent(s.percent) : ''), align: 'right' },
            { header: 'bytes', value: (s) => stepBytes(s), align: 'right' },
            { header: 'try', value: (s) => s.attempt },
            { header: 'error', value: (s) => s.error || s.reason },
          ],
          o.steps,
        ),
      );
  }
  if (o.moved_away.length > 0) {
    text +=
      '\nMoved away (drydock servers return ' +
      o.host_id +
      ')\n' +
      indent(
        renderTable(
          [
            { header: 'server', value: (m: Operation['moved_away'][number]) => m.server_name || m.server_uuid },
            { header: 'uuid', value: (m) => m.server_uuid },
            { header: 'now on', value: (m) => m.to_host_id },
            { header: 'was running', value: (m) => yesNo(m.was_running) },
          ],
          o.moved_away,
        ),
      );
  }
  return text;
}

function indent(text: string, by = '  '): string {
  return text
    .split('\n')
    .map((l) => (l ? by + l : l))
    .join('\n');
}
