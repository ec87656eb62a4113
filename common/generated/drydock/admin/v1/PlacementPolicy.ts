// Original file: proto/drydock/admin/v1/admin.proto

export const PlacementPolicy = {
  PLACEMENT_POLICY_UNSPECIFIED: 'PLACEMENT_POLICY_UNSPECIFIED',
  PLACEMENT_POLICY_SPREAD: 'PLACEMENT_POLICY_SPREAD',
  PLACEMENT_POLICY_PACK: 'PLACEMENT_POLICY_PACK',
} as const;

export type PlacementPolicy__Input =
  | 'PLACEMENT_POLICY_UNSPECIFIED'
  | 0
  | 'PLACEMENT_POLICY_SPREAD'
  | 1
  | 'PLACEMENT_POLICY_PACK'
  | 2

export type PlacementPolicy = typeof PlacementPolicy[keyof typeof PlacementPolicy]
