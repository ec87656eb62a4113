// Original file: proto/drydock/admin/v1/admin.proto

import type { Server__Input as _drydock_admin_v1_Server__Input, Server as _drydock_admin_v1_Server } from '../../../drydock/admin/v1/Server';

export interface ListServersResponse__Input {
  'servers'?: (_drydock_admin_v1_Server__Input)[];
  'next_page_token'?: (string);
}

export interface ListServersResponse {
  'servers': (_drydock_admin_v1_Server)[];
  'next_page_token': (string);
}
