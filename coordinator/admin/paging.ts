// Paging of the admin list methods (ListHosts, ListServers): page_size with
// a default and a maximum, and page tokens that carry the last key returned.
// Lists are in key order and each page starts after the token's key, so a
// token works on any coordinator instance (no per-instance cursor state)
// and a record present for the whole listing is returned exactly once,
// whatever is written meanwhile. A token names the method and the filters it
// was issued for; used with others it is INVALID_ARGUMENT, as is a token
// that does not decode.
import { InvalidArgumentError } from '../../common/errors.ts';

/** Records per page when page_size is 0. */
export const DEFAULT_PAGE_SIZE = 500;
/**
 * The largest page: 1,000 hosts (the largest messages, a few KiB each with
 * their CPU features and pools) stay under the 4 MiB a gRPC client accepts by default.
 */
export const MAX_PAGE_SIZE = 1000;

/** Longest token accepted (a key is at most a few hundred characters). */
const MAX_TOKEN_LENGTH = 2048;

export interface PageRequest {
  /** Records to return at most. */
  size: number;
  /** Return keys after this one ("" = from the first). */
  after: string;
}

interface TokenBody {
  v: 1;
  /** The method. */
  m: string;
  /** The filters, as the method states them. */
  f: string;
  /** The last key of the previous page. */
  a: string;
}

export function pageSize(size: number | undefined): number {
  const n = size ?? 0;
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError('page_size', `must be 0 (the default, ${DEFAULT_PAGE_SIZE}) or a positive number, got ${n}`);
  if (n > MAX_PAGE_SIZE) throw new InvalidArgumentError('page_size', `at most ${MAX_PAGE_SIZE}, got ${n}`);
  return n === 0 ? DEFAULT_PAGE_SIZE : n;
}

/**
 * The page asked for. `filters` states the request's filters (e.g.
 * "zone=z1"); `validKey` checks the decoded key (a token is client input).
 */
export function readPage(method: string, filters: string, req: { page_size?: number; page_token?: string }, validKey: (key: string) => boolean): PageRequest {
  const size = pageSize(req.page_size);
  const token = req.page_token ?? '';
  if (!token) return { size, after: '' };
  const bad = (why: string) => new InvalidArgumentError('page_token', `${why}; start again without a page_token`);
  if (token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) throw bad('not a page token of this API');
  let body: Partial<TokenBody>;
  try {
    body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<TokenBody>;
  } catch {
    throw bad('not a page token of this API');
  }
  if (!body || typeof body !== 'object' || body.v !== 1 || typeof body.m !== 'string' || typeof body.f !== 'string' || typeof body.a !== 'string')
    throw bad('not a page token of this API');
  if (body.m !== method) throw bad(`issued by ${body.m.slice(0, 40)}, not ${method}`);
  if (body.f !== filters) throw bad("issued for other filters than this request's");
  if (!validKey(body.a)) throw bad('names no valid position');
  return { size, after: body.a };
}

/**
 * A page from up to size + 1 records fetched in key order: the first `size`,
 * and a next_page_token when there was one more ("" on the last page).
 */
export function finishPage<R extends { key: string }>(method: string, filters: string, fetched: R[], size: number): { page: R[]; nextPageToken: string } {
  if (fetched.length <= size) return { page: fetched, nextPageToken: '' };
  const page = fetched.slice(0, size);
  const body: TokenBody = { v: 1, m: method, f: filters, a: page[page.length - 1]!.key };
  return { page, nextPageToken: Buffer.from(JSON.stringify(body), 'utf8').toString('base64url') };
}
