import { parentPort } from 'node:worker_threads';
import { SourceReadError, SyncStoredZip } from './sync-stored-zip';
import type { ZipThreadError, ZipThreadReply, ZipThreadRequest } from './zip-thread-protocol';

/**
 * The archive thread: builds stored zips for the engine (see zip-thread.ts), several archives at
 * once, each request answered in order. The first failure of an archive removes its file; every
 * later request for it gets the same error.
 */
const archives = new Map<number, SyncStoredZip>();
const failed = new Map<number, ZipThreadError>();

function describe(error: unknown): ZipThreadError {
  const e = error as NodeJS.ErrnoException;
  const described: ZipThreadError = { message: e?.message ?? String(error), kind: e?.name };
  if (typeof e?.code === 'string') described.code = e.code;
  if (error instanceof SourceReadError) {
    described.file = error.file;
    described.step = error.step;
    described.kind = 'SourceReadError';
  }
  return described;
}

function archiveOf(request: ZipThreadRequest): SyncStoredZip {
  const archive = archives.get(request.archive);
  if (!archive) throw new Error(`archive ${request.archive} is not open`);
  return archive;
}

function handle(request: ZipThreadRequest): (ZipThreadReply & { ok: true })['value'] {
  switch (request.op) {
    case 'open':
      archives.set(request.archive, SyncStoredZip.create(request.path, request.forceZip64));
      return undefined;
    case 'addListed':
      return archiveOf(request).addListed(request.root, request.prefix, request.files);
    case 'addBuffers':
      archiveOf(request).addBuffers(request.entries, request.data);
      return undefined;
    case 'streamStart':
      archiveOf(request).startStream(request.name, request.mtimeMs, request.mode);
      return undefined;
    case 'streamData':
      archiveOf(request).streamData(request.data);
      return undefined;
    case 'streamEnd':
      archiveOf(request).endStream();
      return undefined;
    case 'finish': {
      const finished = archiveOf(request).finish();
      archives.delete(request.archive);
      return finished;
    }
    case 'abort':
      archives.get(request.archive)?.abort();
      archives.delete(request.archive);
      failed.delete(request.archive);
      return undefined;
  }
}

parentPort!.on('message', (request: ZipThreadRequest) => {
  const earlier = failed.get(request.archive);
  if (earlier && request.op !== 'abort') {
    parentPort!.postMessage({ seq: request.seq, ok: false, error: earlier } satisfies ZipThreadReply);
    return;
  }
  try {
    const value = handle(request);
    // Bytes the engine transferred go back with the answer, for its next batch: buffers are reused
    // instead of left to this thread's garbage collector, which let dead ones pile up (RSS).
    const returned = request.op === 'addBuffers' || request.op === 'streamData' ? request.data : undefined;
    parentPort!.postMessage(
      { seq: request.seq, ok: true, value, returned } satisfies ZipThreadReply,
      returned ? [returned.buffer as ArrayBuffer] : [],
    );
  } catch (error) {
    const described = describe(error);
    const archive = archives.get(request.archive);
    archives.delete(request.archive);
    if (request.op !== 'open') failed.set(request.archive, described);
    try {
      archive?.abort();
    } catch {
      // the file may already be gone; the failure reported is the first one
    }
    parentPort!.postMessage({ seq: request.seq, ok: false, error: described } satisfies ZipThreadReply);
  }
});
