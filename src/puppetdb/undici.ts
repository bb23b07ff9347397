// undici's index loads all of undici (fetch, WebSocket, caches, mocks, proxies):
// about 29 MB of RSS at start-up, where the sidecar needs a Pool, `request` and the
// error classes only (about 15 MB). The package has no exports map, so its module
// files can be loaded one by one; the version pinned in package-lock.json and the
// client's unit tests catch a file that moves.
import { createRequire } from 'node:module';
import type { Dispatcher, Pool as UndiciPool, errors as UndiciErrors } from 'undici';

const require = createRequire(import.meta.url);

export const Pool = require('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
export type Pool = UndiciPool;
export const undiciErrors = require('undici/lib/core/errors.js') as typeof UndiciErrors;

const apiRequest = require('undici/lib/api/api-request.js') as Dispatcher['request'];

/** Dispatcher.request, which undici's index adds to every dispatcher's prototype. */
export function request(pool: Pool, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData<unknown>> {
  return apiRequest.call(pool, options);
}
