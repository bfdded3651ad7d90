import type { JsonObject } from '../spec/segment-message.ts';
import type { TraitMap } from '../store/ports.ts';
import { compareEventKeys } from '../identity/event-order.ts';

/**
 * Trait survivorship: for each top-level trait, the value from the event with the latest event time
 * wins (message id breaks ties), whatever order the events arrived in. Applying the same set of
 * identify calls in any order therefore gives the same traits.
 */
export function applyTraits(target: TraitMap, traits: JsonObject, t: number, m: string): boolean {
  let changed = false;
  for (const [key, v] of Object.entries(traits)) {
    const current = Object.hasOwn(target, key) ? target[key] : undefined;
    if (current === undefined || compareEventKeys({ t, m }, current) > 0) {
      target[key] = { v, t, m };
      changed = true;
    }
  }
  return changed;
}

/** Combines the traits of two merging profiles, trait by trait, by the same survivorship rule. */
export function mergeTraits(target: TraitMap, other: TraitMap): void {
  for (const [key, tv] of Object.entries(other)) {
    const current = Object.hasOwn(target, key) ? target[key] : undefined;
    if (current === undefined || compareEventKeys(tv, current) > 0) target[key] = tv;
  }
}

/** The plain `{name: value}` view served by the Profile API. */
export function traitValues(traits: TraitMap): JsonObject {
  const out: JsonObject = {};
  for (const key of Object.keys(traits).sort()) {
    const tv = traits[key];
    if (tv !== undefined) out[key] = tv.v;
  }
  return out;
}
