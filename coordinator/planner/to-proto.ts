// The planner's plan in the admin API's Plan shape: PlanMaintenance answers
// with it, and the offline `drydock plan --snapshot` prints the same JSON.
import type { Plan } from '../../common/generated/drydock/admin/v1/Plan.ts';
import type { PlannedServer } from '../../common/generated/drydock/admin/v1/PlannedServer.ts';
import type { Plan as PlannerPlan, PlannedServer as PlannerServer } from './types.ts';

function plannedToProto(p: PlannerServer): PlannedServer {
  return {
    server_uuid: p.serverUuid,
    server_name: p.serverName,
    action: `SERVER_ACTION_${p.action}`,
    target_host_id: p.targetHostId,
    reason: p.reason,
    memory_bytes: p.memoryBytes,
    local_disk_bytes: p.localDiskBytes,
    was_running: p.wasRunning,
    candidates: p.candidates.map((c) => ({
      host_id: c.hostId,
      eligible: c.eligible,
      checks: c.checks.map((k) => ({ check: k.check, verdict: k.verdict, reason: k.reason })),
      memory_free_after_bytes: c.memoryFreeAfterBytes,
    })),
    estimated_seconds: p.estimatedSeconds,
  };
}

export function planToProto(plan: PlannerPlan): Plan {
  return {
    host_id: plan.hostId,
    zone_id: plan.zoneId,
    servers: plan.servers.map(plannedToProto),
    blockers: plan.blockers.map(plannedToProto),
    refusals: plan.refusals.map((r) => r.message),
    warnings: plan.warnings,
    estimated_seconds: plan.estimatedSeconds,
    assumed_bandwidth_bps: plan.assumedBandwidthBps,
    planned_at_ms: plan.plannedAtMs,
  };
}
