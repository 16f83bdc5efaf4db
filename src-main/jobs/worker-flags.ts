/**
 * Node flags for the processes that run jobs: the backup worker forked by the CLI, the desktop
 * app and the web console, and the command line itself (bin/mailvault passes the same flags; it
 * is a shell script and cannot import this).
 *
 * --initial-old-space-size=256: V8 starts a process with a small old generation and collects
 * whenever it fills, growing it only slowly. A backup streams gigabytes through short-lived
 * objects, and in a 100 × 500 backup over SSH that was 69 full collections on a 25-40 MB heap;
 * with 256 MB to start with, 29, and 2-3 s less CPU in the process (peak RSS unchanged, 240-250
 * MiB: the space is a limit, not memory taken).
 */
export const WORKER_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=256'];
