// The paged admin lists (ListHosts, ListServers, ListOperations) followed to the end: each
// page is its own call with the CLI's deadline and stays far below gRPC's
// 4 MiB message limit, so a listing of 100,000 servers neither runs into
// RESOURCE_EXHAUSTED nor into one 30 s deadline.
import type { AdminApi } from './client.ts';
import { CliError, EXIT } from './exit.ts';
import type { ListHostsRequest__Input } from '../common/generated/drydock/admin/v1/ListHostsRequest.ts';
import type { ListHostsResponse } from '../common/generated/drydock/admin/v1/ListHostsResponse.ts';
import type { ListServersRequest__Input } from '../common/generated/drydock/admin/v1/ListServersRequest.ts';
import type { ListServersResponse } from '../common/generated/drydock/admin/v1/ListServersResponse.ts';
import type { ListOperationsRequest__Input } from '../common/generated/drydock/admin/v1/ListOperationsRequest.ts';
import type { ListOperationsResponse } from '../common/generated/drydock/admin/v1/ListOperationsResponse.ts';

/** Records per call: the server's maximum (coordinator/admin/paging.ts). */
export const CLI_PAGE_SIZE = 1000;

/** A coordinator answering with the same token again would loop forever: refused instead. */
function nextToken(method: string, seen: Set<string>, token: string): string {
  if (token && seen.has(token))
    throw new CliError(
      `${method}: the coordinator returned the same page token twice; listing stopped`,
      "report this to the coordinator's operator",
      EXIT.SERVER_ERROR,
    );
  seen.add(token);
  return token;
}

/** Every host (of a zone, if given), in id order, as one list. */
export async function listAllHosts(api: AdminApi, req: Omit<ListHostsRequest__Input, 'page_size' | 'page_token'>): Promise<Pick<ListHostsResponse, 'hosts'>> {
  const hosts: ListHostsResponse['hosts'] = [];
  const seen = new Set<string>();
  let token = '';
  do {
    const res = await api.call('ListHosts', { ...req, page_size: CLI_PAGE_SIZE, page_token: token });
    hosts.push(...res.hosts);
    token = nextToken('ListHosts', seen, res.next_page_token);
  } while (token);
  return { hosts };
}

/** Every server (of a host and/or zone, if given), in uuid order, as one list. */
export async function listAllServers(
  api: AdminApi,
  req: Omit<ListServersRequest__Input, 'page_size' | 'page_token'>,
): Promise<Pick<ListServersResponse, 'servers'>> {
  const servers: ListServersResponse['servers'] = [];
  const seen = new Set<string>();
  let token = '';
  do {
    const res = await api.call('ListServers', { ...req, page_size: CLI_PAGE_SIZE, page_token: token });
    servers.push(...res.servers);
    token = nextToken('ListServers', seen, res.next_page_token);
  } while (token);
  return { servers };
}

/** Every operation (of a host, active only, if asked), newest first, as one list; with a limit, that many at most (one call). */
export async function listAllOperations(
  api: AdminApi,
  req: Omit<ListOperationsRequest__Input, 'page_size' | 'page_token'>,
): Promise<Pick<ListOperationsResponse, 'operations'>> {
  const operations: ListOperationsResponse['operations'] = [];
  const seen = new Set<string>();
  let token = '';
  do {
    const res = await api.call('ListOperations', { ...req, page_size: CLI_PAGE_SIZE, page_token: token });
    operations.push(...res.operations);
    token = nextToken('ListOperations', seen, res.next_page_token);
  } while (token);
  return { operations };
}
