import { z } from 'zod';
import type { ApiResult, RequestName, RequestOf, ResponseOf } from './contract';
import { ApiFailure, failure } from './failure';
import { requestSchemas } from './schemas';

export { ApiFailure, failure } from './failure';

/**
 * The API's handlers, written once and bound twice: to Electron IPC (src-main/electron) and to the
 * local web host (src-main/host). Electron-free: one function per request, supplied by the
 * console (src-main/api/console.ts) or by a test. A request without a handler answers
 * `unknown-request`, as one the contract does not name.
 */
export type Handlers = {
  [N in RequestName]: (req: RequestOf<N>) => ResponseOf<N> | Promise<ResponseOf<N>>;
};
export type ApiContext = Partial<Handlers> & Pick<Handlers, 'app.info'>;

function isRequestName(name: unknown): name is RequestName {
  return typeof name === 'string' && Object.hasOwn(requestSchemas, name);
}

export type Dispatch = (name: unknown, req: unknown) => Promise<ApiResult<unknown>>;

/**
 * One entry point for untrusted input: validates the name and parameters, runs the handler, and
 * turns every failure into `{ ok: false, error }`. Never throws.
 */
export function createDispatch(ctx: ApiContext, log?: (line: string) => void): Dispatch {
  return async (name, req) => {
    if (!isRequestName(name) || !Object.hasOwn(ctx, name))
      return failure('unknown-request', `There is no request named ${JSON.stringify(name)}.`);
    const parsed = requestSchemas[name].safeParse(req ?? {});
    if (!parsed.success)
      return failure('bad-request', `Bad parameters for ${name}: ${z.prettifyError(parsed.error)}`);
    try {
      const handler = ctx[name] as (req: unknown) => unknown;
      return { ok: true, value: await handler(parsed.data) };
    } catch (error) {
      if (error instanceof ApiFailure) return failure(error.code, error.message);
      log?.(`${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return failure('internal', `${name} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
}
