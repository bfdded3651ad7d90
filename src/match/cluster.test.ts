import { describe, expect, it } from 'vitest';
import { clusterPairs, linkOneToOne } from './cluster.ts';

function pairs(list: [number, number, number][]) {
  return {
    left: Int32Array.from(list, (p) => p[0]),
    right: Int32Array.from(list, (p) => p[1]),
    weight: Float64Array.from(list, (p) => p[2]),
    count: list.length,
  };
}

describe('clusterPairs', () => {
  const table = new Map<string, number>();
  const weightOf = (a: number, b: number): number => table.get(`${Math.min(a, b)},${Math.max(a, b)}`) ?? -20;

  it('links pairs at or above the threshold into connected groups labelled by their first record', () => {
    const result = clusterPairs(6, pairs([[0, 1, 10], [1, 2, 8], [3, 4, 1], [4, 5, -5]]), { minWeight: 0, strangerWeight: -100, pairWeight: () => 0 });
    expect([...result.clusterOf]).toEqual([0, 0, 0, 3, 3, 5]);
    expect(result.linked).toBe(3);
  });

  it('does not chain two strangers through a record that resembles both', () => {
    // 0–1 and 1–2 look like matches, but 0 and 2 are clearly different people.
    table.set('0,1', 12);
    table.set('1,2', 6);
    table.set('0,2', -30);
    const result = clusterPairs(3, pairs([[0, 1, 12], [1, 2, 6]]), { minWeight: 0, strangerWeight: -13, pairWeight: weightOf });
    expect([...result.clusterOf]).toEqual([0, 0, 2]);
    expect(result.refused).toBe(1);
    // Without the guard the chain forms.
    const loose = clusterPairs(3, pairs([[0, 1, 12], [1, 2, 6]]), { minWeight: 0, strangerWeight: -100, pairWeight: weightOf });
    expect([...loose.clusterOf]).toEqual([0, 0, 0]);
  });

  it('joins groups whose members are all plausible together', () => {
    table.set('0,2', 3);
    const result = clusterPairs(3, pairs([[0, 1, 12], [1, 2, 6]]), { minWeight: 0, strangerWeight: -13, pairWeight: weightOf });
    expect([...result.clusterOf]).toEqual([0, 0, 0]);
  });

  it('does not put two members of one family together through a record that fits both', () => {
    // 0 Jim and 1 Jane Muir at one address (family, −11); 2 "J Muir" fits Jane (14) and Jim (9).
    const family = new Map([['0,1', -11], ['0,2', 9], ['1,2', 14]]);
    const weight = (a: number, b: number): number => family.get(`${Math.min(a, b)},${Math.max(a, b)}`)!;
    const relation = (a: number, b: number) => (Math.min(a, b) === 0 && Math.max(a, b) === 1 ? ('family' as const) : ('other' as const));
    const list = pairs([[1, 2, 14], [0, 2, 9]]);
    const result = clusterPairs(3, list, { minWeight: 0, strangerWeight: -20, pairWeight: weight, relation });
    expect([...result.clusterOf]).toEqual([0, 1, 1]);
    // A link that outweighs the contradiction still joins (a nickname with a typo, well vouched for).
    family.set('0,2', 12);
    expect([...clusterPairs(3, list, { minWeight: 0, strangerWeight: -20, pairWeight: weight, relation }).clusterOf]).toEqual([0, 0, 0]);
    // A record that shares only the family's address and email supports neither member.
    family.set('0,2', 12);
    const householdOnly = (a: number, b: number) => (Math.min(a, b) === 0 && Math.max(a, b) === 1 ? ('family' as const) : Math.min(a, b) === 0 ? ('household' as const) : ('other' as const));
    expect([...clusterPairs(3, list, { minWeight: 0, strangerWeight: -20, pairWeight: weight, relation: householdOnly }).clusterOf]).toEqual([0, 1, 1]);
    // Without the relation, the chain forms.
    family.set('0,2', 9);
    expect([...clusterPairs(3, list, { minWeight: 0, strangerWeight: -20, pairWeight: weight }).clusterOf]).toEqual([0, 0, 0]);
  });

  it('joins a record equally like two groups that cannot be joined to neither, and one much more like one to it', () => {
    // 0–1 father (two records), 2–3 son (two records), 0 and 2 strangers; 4 "Robert Smith" with
    // nothing else links to 1 and to 3 alike.
    const table = new Map([['0,1', 20], ['2,3', 20], ['0,2', -40], ['1,4', 1.3], ['3,4', 1.3]]);
    const weight = (a: number, b: number): number => table.get(`${Math.min(a, b)},${Math.max(a, b)}`) ?? 0;
    const list = pairs([[0, 1, 20], [2, 3, 20], [1, 4, 1.3], [3, 4, 1.3]]);
    expect([...clusterPairs(5, list, { minWeight: 0, strangerWeight: -20, pairWeight: weight }).clusterOf]).toEqual([0, 0, 2, 2, 4]);
    expect([...clusterPairs(5, list, { minWeight: 0, strangerWeight: -20, pairWeight: weight, exclusiveLinks: false }).clusterOf]).toEqual([0, 0, 2, 2, 0]);
    // Much more like the son: it joins him.
    table.set('3,4', 8);
    const clear = pairs([[0, 1, 20], [2, 3, 20], [3, 4, 8], [1, 4, 1.3]]);
    expect([...clusterPairs(5, clear, { minWeight: 0, strangerWeight: -20, pairWeight: weight }).clusterOf]).toEqual([0, 0, 2, 2, 2]);
  });
});

describe('linkOneToOne', () => {
  it('links each record to at most one of the other file, strongest pairs first', () => {
    // Files: 0, 1, 2 | 3, 4. Record 3 resembles 0 strongly and 1 a little; 1 resembles 4.
    const result = linkOneToOne(5, pairs([[0, 3, 20], [1, 3, 8], [1, 4, 6], [2, 4, -3]]), { minWeight: 0 });
    expect([...result.clusterOf]).toEqual([0, 1, 2, 0, 1]);
    expect(result.linked).toBe(2);
    expect(result.refused).toBe(1);
    // Clustered like a dedupe, 3 would gather 0 and 1 (and 4 through 1).
    const loose = clusterPairs(5, pairs([[0, 3, 20], [1, 3, 8], [1, 4, 6]]), { minWeight: 0, strangerWeight: -100, pairWeight: () => 0 });
    expect([...loose.clusterOf]).toEqual([0, 0, 2, 0, 0]);
  });
});
