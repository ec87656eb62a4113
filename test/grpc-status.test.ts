// The one server-edge mapping of typed errors to gRPC statuses, and back.
import test from 'ava';
import { status } from '@grpc/grpc-js';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../common/errors.ts';
import { fromGrpcError, remoteKind, toGrpcStatus } from '../common/grpc-status.ts';

test('typed errors keep their code and kind; anything else is INTERNAL', (t) => {
  const nf = toGrpcStatus(new NotFoundError('server', 'vs1'));
  t.is(nf.code, status.NOT_FOUND);
  t.is(nf.metadata?.get('drydock-error-kind')[0], 'NotFoundError');
  const ia = toGrpcStatus(new InvalidArgumentError('host_id', 'bad'));
  t.is(ia.code, status.INVALID_ARGUMENT);
  t.is(ia.metadata?.get('drydock-field')[0], 'host_id');
  t.is(toGrpcStatus(new Error('boom')).code, status.INTERNAL);
});

test('non-ASCII detail text cannot break the status (metadata is sanitised, details keep it)', (t) => {
  const err = new FailedPreconditionError('server «café» → nowhere', { details: { server: 'café' } });
  const st = toGrpcStatus(err);
  t.is(st.code, status.FAILED_PRECONDITION);
  t.is(st.details, 'server «café» → nowhere');
  t.is(st.metadata?.get('drydock-server')[0], 'caf?');
});

test('a client rebuilds the typed error with the remote kind', (t) => {
  const st = toGrpcStatus(new FailedPreconditionError('busy'));
  const back = fromGrpcError({ code: st.code, details: st.details, metadata: st.metadata });
  t.true(back instanceof FailedPreconditionError);
  t.is(remoteKind(back), 'FailedPreconditionError');
});
