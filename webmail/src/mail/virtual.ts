/**
 * The virtual list's arithmetic: rows have one fixed height, so the rows in view follow from the
 * scroll offset alone; only those (plus an overscan on each side) are rendered.
 */

export const ROW_HEIGHT = 64;
export const OVERSCAN = 8;

export interface Window {
  /** first and last position rendered (inclusive); last < first when there is nothing */
  first: number;
  last: number;
}

export function visibleWindow(scrollTop: number, height: number, total: number, overscan = OVERSCAN): Window {
  if (total <= 0) return { first: 0, last: -1 };
  const top = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT));
  const bottom = Math.ceil((scrollTop + Math.max(height, ROW_HEIGHT)) / ROW_HEIGHT);
  return { first: Math.max(0, top - overscan), last: Math.min(total - 1, bottom + overscan) };
}

/** The scroll offset that brings row pos into view (unchanged when it is already). */
export function scrollToShow(pos: number, scrollTop: number, height: number): number {
  const top = pos * ROW_HEIGHT;
  if (top < scrollTop) return top;
  if (top + ROW_HEIGHT > scrollTop + height) return top + ROW_HEIGHT - height;
  return scrollTop;
}
