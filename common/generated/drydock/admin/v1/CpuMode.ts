// Original file: proto/drydock/admin/v1/admin.proto

export const CpuMode = {
  CPU_MODE_UNSPECIFIED: 'CPU_MODE_UNSPECIFIED',
  CPU_MODE_DEFAULT: 'CPU_MODE_DEFAULT',
  CPU_MODE_EXTENDED: 'CPU_MODE_EXTENDED',
  CPU_MODE_PASSTHROUGH: 'CPU_MODE_PASSTHROUGH',
} as const;

export type CpuMode__Input =
  | 'CPU_MODE_UNSPECIFIED'
  | 0
  | 'CPU_MODE_DEFAULT'
  | 1
  | 'CPU_MODE_EXTENDED'
  | 2
  | 'CPU_MODE_PASSTHROUGH'
  | 3

export type CpuMode = typeof CpuMode[keyof typeof CpuMode]
