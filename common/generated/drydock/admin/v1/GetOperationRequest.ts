// Original file: proto/drydock/admin/v1/admin.proto


export interface GetOperationRequest__Input {
  'operation_id'?: (string);
}

export interface GetOperationRequest {
  'operation_id': (string);
}
