import { describe, expect, it } from 'vitest';
import { scorePair } from '../match/score.ts';
import { testModel } from '../../test/match-test-model.ts';
import { attributeWeights } from './match-pairs.ts';

type Stored = { attribute: string; level: number | null; label: string | null; weight: number };

describe('attributeWeights', () => {
  const model = testModel();
  const father = { id: 'a', values: { firstName: 'Robert', lastName: 'Smith Sr', birthday: '1950-03-04', address: '12 High St', city: 'Leeds' } };
  const son = { id: 'b', values: { firstName: 'Robert', lastName: 'Smith Jr', birthday: '1950-03-04', address: '12 High St', city: 'Leeds' } };

  it('stores what the score adds beyond its attributes, so the entries add up to its weight', () => {
    const score = scorePair(model, father, son);
    const stored = attributeWeights(score) as Stored[];
    const evidence = stored.filter((e) => e.attribute === 'evidence');
    expect(evidence).toHaveLength(1);
    expect(evidence[0]!.label).toMatch(/generations differ/);
    expect(evidence[0]!.weight).toBeLessThan(0);
    const total = score.prior + stored.reduce((s, e) => s + e.weight, 0);
    expect(total).toBeCloseTo(score.weight, 1);
  });

  it('stores only attributes when nothing else counted', () => {
    const score = scorePair(model, father, { ...father, id: 'c' });
    const stored = attributeWeights(score) as Stored[];
    expect(stored.every((e) => e.attribute !== 'evidence')).toBe(true);
    expect(stored.map((e) => e.attribute)).toEqual(score.attributes.map((a) => a.attribute));
  });
});
