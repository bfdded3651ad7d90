import type { EventKey } from '../store/ports.ts';

/** Canonical order of evidence: event time, then message id (DESIGN.md, invariant 2). */
export function compareEventKeys(a: EventKey, b: EventKey): number {
  if (a.t !== b.t) return a.t - b.t;
  return a.m < b.m ? -1 : a.m > b.m ? 1 : 0;
}

/** Order of an identifier's first evidence: event key, then its position in that message. */
export function compareFirstKeys(a: { firstT: number; firstM: string; firstPos: number }, b: { firstT: number; firstM: string; firstPos: number }): number {
  if (a.firstT !== b.firstT) return a.firstT - b.firstT;
  if (a.firstM !== b.firstM) return a.firstM < b.firstM ? -1 : 1;
  return a.firstPos - b.firstPos;
}
