// The host's CPU against its zone, as the operator sees it (HostCpuView):
// the zone model's flags (default), the operator's extras (additional), and
// what the host has beyond or lacks against the zone (unmatching), from the
// fit the last recompute stored (libvirt's CompareCpu and expanded flag
// lists). Pure; coordinator/admin/convert.ts renders hosts with it.
import type { HostCpuView__Input } from '../../common/generated/drydock/admin/v1/HostCpuView.ts';
import type { HostRecord, ZoneRecord } from '../model.ts';
import { cpuHash, trackingOf } from './tracking.ts';
import { minus } from './features.ts';

export function zoneHostCpuView(h: HostRecord, zone: ZoneRecord | null): HostCpuView__Input {
  const own = [...h.cpu.features].sort();
  // No object spread here: copying a `base` into each view cost ~10 µs a
  // host, a third of rendering a ListHosts page of 500.
  if (!zone)
    return {
      model: h.cpu.model,
      vendor: h.cpu.vendor,
      host_flags: own,
      default_flags: [],
      additional_flags: [],
      unmatching_extra_flags: [],
      unmatching_missing_flags: [],
      compatible: true,
      advice: '',
    };
  const t = trackingOf(zone);
  const fit = t.hosts[h.id];
  // A fit computed from another CPU (the host changed since) says nothing about this one.
  const current = fit && fit.cpuHash === cpuHash(h.cpu.xml) ? fit : undefined;
  const mismatched = zone.cpu.mismatchedHosts.includes(h.id);
  const zoneAll = zone.cpu.model ? (t.allFeatures.length ? t.allFeatures : [...zone.cpu.features].sort()) : [];
  // The host's full list follows from the zone's and the two differences libvirt's answers gave.
  const full = current && t.allFeatures.length ? minus([...t.allFeatures, ...current.extra], current.missing) : own;
  return {
    model: h.cpu.model,
    vendor: h.cpu.vendor,
    host_flags: full,
    default_flags: zoneAll,
    additional_flags: [...zone.cpu.extraFeatures].sort(),
    unmatching_extra_flags: current?.extra ?? [],
    unmatching_missing_flags: current?.missing ?? [],
    compatible: !mismatched && current?.verdict !== 'INCOMPATIBLE',
    advice: fit?.advice ?? '',
  };
}
