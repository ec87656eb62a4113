// Operation methods. Declared and permission-guarded now; the maintenance
// engine replaces this group (operations exist only once it runs them).
import type { HandlerGroup } from './context.ts';
import { UnimplementedError } from './errors.ts';

const later = (method: string) => async () => {
  throw new UnimplementedError(method, 'operations land with the maintenance engine');
};

export function operationStubs(): HandlerGroup {
  return {
    unary: {
      GetOperation: later('GetOperation'),
      ListOperations: later('ListOperations'),
      CancelOperation: later('CancelOperation'),
    },
    stream: {
      WatchOperation: later('WatchOperation'),
    },
  };
}
