// Original file: proto/drydock/admin/v1/admin.proto

import type { Host__Input as _drydock_admin_v1_Host__Input, Host as _drydock_admin_v1_Host } from '../../../drydock/admin/v1/Host';

export interface ListHostsResponse__Input {
  'hosts'?: (_drydock_admin_v1_Host__Input)[];
  'next_page_token'?: (string);
}

export interface ListHostsResponse {
  'hosts': (_drydock_admin_v1_Host)[];
  'next_page_token': (string);
}
