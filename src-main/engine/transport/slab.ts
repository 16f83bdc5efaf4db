/**
 * Small files are held in shared 1 MiB slabs rather than a buffer each: one allocation (and one
 * external-memory object for the GC to track) per MiB, not per 20 KiB blob. A slab lives as
 * long as any file in it is referenced; the archive writer drops them once they are on disk.
 */
const SLAB_BYTES = 1 << 20;
let slab = Buffer.allocUnsafe(0);
let used = 0;

/**
 * Room for `bytes` at the free end of the current slab (a new slab if it does not fit). Not
 * claimed: call claimSlab with what was really filled before anything else takes room.
 */
export function slabSpace(bytes: number): Buffer {
  if (slab.length - used < bytes) {
    slab = Buffer.allocUnsafe(Math.max(SLAB_BYTES, bytes));
    used = 0;
  }
  return slab.subarray(used, used + bytes);
}

/** Claims the first `bytes` of the room slabSpace just gave. */
export function claimSlab(bytes: number): void {
  used += bytes;
}

/** Room for `bytes`, claimed at once (for data filled later, asynchronously). */
export function slabBuffer(bytes: number): Buffer {
  const space = slabSpace(bytes);
  claimSlab(bytes);
  return space;
}
