// Original file: proto/drydock/admin/v1/admin.proto

import type { Zone__Input as _drydock_admin_v1_Zone__Input, Zone as _drydock_admin_v1_Zone } from '../../../drydock/admin/v1/Zone';

export interface ListZonesResponse__Input {
  'zones'?: (_drydock_admin_v1_Zone__Input)[];
}

export interface ListZonesResponse {
  'zones': (_drydock_admin_v1_Zone)[];
}
