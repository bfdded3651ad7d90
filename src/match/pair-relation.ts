import type { PairRelation } from './cluster.ts';
import { SHARED } from './households.ts';
import { NULL_LEVEL, familyMembers, type CompiledModel } from './score.ts';

/**
 * What two compared records are to each other in data that holds households (see households.ts
 * and `PairRelation`), levels as `compareRecords` wrote them:
 *
 * - `family`: two members of one family at one home: the surnames agree, the first name or the
 *   birth date says another person (`familyMembers`), both birth dates are known, and they
 *   share an address, street, phone or email exactly. Without a shared home, or with the first
 *   name the only personal evidence, "another first name" is as often a nickname with a typo
 *   (jgoseph and Joe Linwell at two addresses; Ben and Ebenjamin Redley, one birth date missing).
 * - `household`: the pair compares on nothing but what a household shares (surname, address
 *   parts, phone, email): it says which household, not which member; a record with a family's
 *   address and email but no name fits every member alike.
 * - `other`: anything else, and every pair in data without households.
 */
export function pairRelation(compiled: CompiledModel, levels: Uint8Array, offset: number): PairRelation {
  if (!compiled.households) return 'other';
  if (familyMembers(compiled, levels, offset) && bothDated(compiled, levels, offset) && sharesHome(compiled, levels, offset)) return 'family';
  return householdOnly(compiled, levels, offset) ? 'household' : 'other';
}

function bothDated(compiled: CompiledModel, levels: Uint8Array, offset: number): boolean {
  return compiled.birthday >= 0 && levels[offset + compiled.birthday] !== NULL_LEVEL;
}

function sharesHome(compiled: CompiledModel, levels: Uint8Array, offset: number): boolean {
  for (const attribute of SHARED) {
    const c = compiled.attributes.indexOf(attribute);
    if (c >= 0 && levels[offset + c] === 0) return true;
  }
  return false;
}

function householdOnly(compiled: CompiledModel, levels: Uint8Array, offset: number): boolean {
  let any = false;
  for (let c = 0; c < compiled.kinds.length; c++) {
    if (levels[offset + c] === NULL_LEVEL) continue;
    if (compiled.household[c] !== 1) return false;
    any = true;
  }
  return any;
}
