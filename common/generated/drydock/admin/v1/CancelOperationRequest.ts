// Original file: proto/drydock/admin/v1/admin.proto


export interface CancelOperationRequest__Input {
  'operation_id'?: (string);
  'reason'?: (string);
}

export interface CancelOperationRequest {
  'operation_id': (string);
  'reason': (string);
}
