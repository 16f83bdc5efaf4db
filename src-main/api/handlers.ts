import { z } from 'zod';
import type {
  ApiError,
  ApiErrorCode,
  ApiResult,
  AppInfo,
  RequestName,
  RequestOf,
  ResponseOf,
  ServerSummary,
} from './contract';

/**
 * The API's handlers, written once and bound twice: to Electron IPC (src-main/electron) and to the
 * local web host (src-main/host). Electron-free; everything they need comes in the context, so the
 * tests, the sandbox and (later) the saved servers plug in here.
 */
export interface ApiContext {
  appInfo: () => AppInfo;
  servers: () => ServerSummary[] | Promise<ServerSummary[]>;
}

/** Thrown inside a handler to answer with a specific error code; anything else becomes `internal`. */
export class ApiFailure extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const noParams = z.strictObject({});

/** Each request's parameters, checked before its handler runs: the caller may be a browser. */
const requestSchemas: { [N in RequestName]: z.ZodType<RequestOf<N>> } = {
  'app.info': noParams,
  'servers.list': noParams,
};

type Handlers = { [N in RequestName]: (req: RequestOf<N>) => Promise<ResponseOf<N>> };

function createHandlers(ctx: ApiContext): Handlers {
  return {
    'app.info': async () => ctx.appInfo(),
    'servers.list': async () => ctx.servers(),
  };
}

function isRequestName(name: unknown): name is RequestName {
  return typeof name === 'string' && Object.hasOwn(requestSchemas, name);
}

export type Dispatch = (name: unknown, req: unknown) => Promise<ApiResult<unknown>>;

/**
 * One entry point for untrusted input: validates the name and parameters, runs the handler, and
 * turns every failure into `{ ok: false, error }`. Never throws.
 */
export function createDispatch(ctx: ApiContext, log?: (line: string) => void): Dispatch {
  const handlers = createHandlers(ctx);
  return async (name, req) => {
    if (!isRequestName(name))
      return failure('unknown-request', `There is no request named ${JSON.stringify(name)}.`);
    const parsed = requestSchemas[name].safeParse(req ?? {});
    if (!parsed.success)
      return failure('bad-request', `Bad parameters for ${name}: ${z.prettifyError(parsed.error)}`);
    try {
      const handler = handlers[name] as (req: unknown) => Promise<unknown>;
      return { ok: true, value: await handler(parsed.data) };
    } catch (error) {
      if (error instanceof ApiFailure) return failure(error.code, error.message);
      log?.(`${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return failure('internal', `${name} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
}

export function failure(code: ApiErrorCode, message: string): { ok: false; error: ApiError } {
  return { ok: false, error: { code, message } };
}
