// Regenerates the TypeScript types of the protos into common/generated/.
// The loader options here must match common/proto.ts (LOADER_OPTIONS).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
execFileSync(
  path.join(root, 'node_modules/.bin/proto-loader-gen-types'),
  [
    '--grpcLib=@grpc/grpc-js',
    '--outDir=common/generated',
    '--includeDirs=proto',
    '--keepCase',
    '--longs=Number',
    '--enums=String',
    '--defaults',
    '--oneofs',
    '--inputTemplate=%s__Input',
    '--outputTemplate=%s',
    'drydock/agent/v1/agent.proto',
    'drydock/admin/v1/admin.proto',
  ],
  { cwd: root, stdio: 'inherit' },
);
