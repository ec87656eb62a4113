// Original file: proto/drydock/admin/v1/admin.proto

import type { Operation__Input as _drydock_admin_v1_Operation__Input, Operation as _drydock_admin_v1_Operation } from '../../../drydock/admin/v1/Operation';

export interface ListOperationsResponse__Input {
  'operations'?: (_drydock_admin_v1_Operation__Input)[];
  'next_page_token'?: (string);
}

export interface ListOperationsResponse {
  'operations': (_drydock_admin_v1_Operation)[];
  'next_page_token': (string);
}
