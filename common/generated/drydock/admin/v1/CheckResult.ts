// Original file: proto/drydock/admin/v1/admin.proto


export interface CheckResult__Input {
  'check'?: (string);
  'verdict'?: (string);
  'reason'?: (string);
}

export interface CheckResult {
  'check': (string);
  'verdict': (string);
  'reason': (string);
}
