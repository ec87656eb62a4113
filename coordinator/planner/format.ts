// The plan as an operator reads it in a terminal (`drydock plan`): one
// aligned table of servers, then refusals, blockers, warnings and the
// estimate. Plain text, no colours, stable for a given plan (the time shown
// is the snapshot's, never the clock's).
import { concurrentMoves } from './estimate.ts';
import type { CandidateVerdict, Plan, PlannedServer, ServerAction } from './types.ts';
import { formatBytes, formatDuration, formatRate } from './units.ts';

const ACTION_LABEL: Readonly<Record<ServerAction, string>> = {
  LIVE_MIGRATE: 'live',
  COLD_MIGRATE: 'cold',
  STOP: 'stop',
  NONE: 'stay',
};

export interface FormatPlanOptions {
  /** Also list every candidate's verdicts under each server. */
  candidates?: boolean;
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

function serverRow(p: PlannedServer, blocked: boolean): string[] {
  return [
    p.serverName || p.serverUuid,
    blocked ? 'BLOCKED' : ACTION_LABEL[p.action],
    p.targetHostId || '-',
    formatBytes(p.memoryBytes),
    p.localDiskBytes > 0 ? formatBytes(p.localDiskBytes) : '-',
    p.estimatedSeconds > 0 ? formatDuration(p.estimatedSeconds) : '-',
    p.reason,
  ];
}

function candidateLines(candidates: readonly CandidateVerdict[]): string[] {
  const rows = candidates.map((c) => {
    const notable = c.checks.filter((r) => r.verdict !== 'ok');
    return [
      `    ${c.hostId}`,
      c.eligible ? 'eligible' : 'no',
      formatBytes(c.memoryFreeAfterBytes),
      notable.length === 0 ? 'all checks ok' : notable.map((r) => `${r.check} ${r.verdict}: ${r.reason}`).join('; '),
    ];
  });
  return formatTable(['    HOST', 'ELIGIBLE', 'FREE AFTER', 'CHECKS'], rows).split('\n');
}

export function formatPlan(plan: Plan, options: FormatPlanOptions = {}): string {
  const out: string[] = [];
  const when = Number.isFinite(plan.plannedAtMs) && plan.plannedAtMs > 0 ? new Date(plan.plannedAtMs).toISOString() : 'unknown time';
  out.push(
    `Maintenance plan for host ${plan.hostId}${plan.zoneId ? ` (zone ${plan.zoneId})` : ''} as of ${when}; stop_unmigratable ${plan.stopUnmigratable ? 'on' : 'off'}`,
  );

  if (plan.refusals.length > 0) {
    out.push('', 'Refused: this host cannot enter maintenance');
    for (const r of plan.refusals) out.push(`  - ${r.message}`);
  }

  const rows = [...plan.servers.map((p) => ({ p, blocked: false })), ...plan.blockers.map((p) => ({ p, blocked: true }))];
  if (rows.length > 0) {
    out.push('');
    const headers = ['SERVER', 'ACTION', 'TARGET', 'MEMORY', 'DISK', 'EST', 'REASON'];
    const lines = formatTable(
      headers,
      rows.map(({ p, blocked }) => serverRow(p, blocked)),
    ).split('\n');
    if (!options.candidates) out.push(...lines);
    else {
      out.push(lines[0]!);
      rows.forEach(({ p }, i) => {
        out.push(lines[i + 1]!, ...candidateLines(p.candidates));
        if (p.candidatesOmitted > 0) out.push(`    (${p.candidatesOmitted} more host(s) not shown)`);
      });
    }
  } else if (plan.refusals.length === 0) {
    out.push('', `No servers on ${plan.hostId}: it can enter maintenance at once.`);
  }

  if (plan.blockers.length > 0) {
    out.push('', `Blockers: ${plan.blockers.length} server(s) cannot move; with stop_unmigratable they would be stopped (or left shut off):`);
    for (const b of plan.blockers) out.push(`  - ${b.serverName || b.serverUuid}: ${b.reason}`);
  }
  if (plan.warnings.length > 0) {
    out.push('', 'Warnings:');
    for (const w of plan.warnings) out.push(`  - ${w}`);
  }

  const count = (a: ServerAction) => plan.servers.filter((p) => p.action === a).length;
  const lanes = concurrentMoves(plan.policy);
  if (plan.refusals.length === 0) {
    out.push(
      '',
      `Estimate: ${formatDuration(plan.estimatedSeconds)} — ${count('LIVE_MIGRATE')} live, ${count('COLD_MIGRATE')} cold, ${count('STOP')} stop, ${count('NONE')} stay; ` +
        `${formatRate(plan.assumedBandwidthBps)}${plan.bandwidthAssumed ? ' (assumed)' : ' (measured)'}, ${lanes} migration(s) at a time`,
    );
    const verdict = plan.blockers.length > 0 ? 'NOT RUNNABLE without stop_unmigratable' : 'runnable';
    out.push(`Result: ${verdict}`);
  } else {
    out.push('', 'Result: REFUSED');
  }
  return out.join('\n') + '\n';
}
