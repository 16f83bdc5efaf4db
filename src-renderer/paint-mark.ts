/** A performance mark at the next frame, once per page: bench/console-paint.ts reads them. */
export function markOnce(name: string): void {
  if (performance.getEntriesByName(name).length > 0) return;
  requestAnimationFrame(() => {
    if (performance.getEntriesByName(name).length === 0) performance.mark(name);
  });
}
