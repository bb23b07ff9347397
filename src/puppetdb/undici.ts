// undici's index loads all of undici (fetch, WebSocket, caches, mocks, proxies):
// about 29 MB of RSS at start-up, where the sidecar needs a Pool, `request` and the
// error classes only (about 15 MB). The package has no exports map, so its module
// files can be loaded one by one; the version pinned in package-lock.json and the
// client's unit tests catch a file that moves.
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import type { Dispatcher, Pool as UndiciPool, errors as UndiciErrors } from 'undici';

const require = createRequire(import.meta.url);

// undici parses HTTP with llhttp compiled to WebAssembly, at the first connection,
// and V8 later compiles its hot functions again, optimized: about 20 MB more peak RSS
// (a no-op pass peaked at 98 MB instead of 76) for parsing headers and chunk sizes.
// The baseline compiler alone does. Set after start-up, a flag's implications are not
// applied, so the two that --liftoff-only implies are spelled out.
setFlagsFromString('--liftoff-only --no-wasm-tier-up --no-wasm-dynamic-tiering');

export const Pool = require('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
export type Pool = UndiciPool;
export const undiciErrors = require('undici/lib/core/errors.js') as typeof UndiciErrors;

const apiRequest = require('undici/lib/api/api-request.js') as Dispatcher['request'];

/** Dispatcher.request, which undici's index adds to every dispatcher's prototype. */
export function request(pool: Pool, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData<unknown>> {
  return apiRequest.call(pool, options);
}
