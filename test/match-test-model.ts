/**
 * A hand-set Fellegi–Sunter model for tests of matching in the identity graph: every attribute's
 * levels run from strong agreement to disagreement with fixed m and u, so scores are predictable.
 */
import { defaultBlockingRules } from '../src/match/blocking.ts';
import type { ComparedAttribute } from '../src/match/attributes.ts';
import { LEVELS } from '../src/match/comparisons.ts';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, modelVersion, parseModel, type Model } from '../src/match/model.ts';
import { kindOf } from '../src/match/prepare-record.ts';

const ATTRIBUTES: ComparedAttribute[] = ['firstName', 'lastName', 'birthday', 'address', 'city', 'postalCode', 'state', 'phone', 'email'];

export function testModel(options: { lambda?: number } = {}): Model {
  const comparisons = ATTRIBUTES.map((attribute) => {
    const kind = kindOf(attribute);
    const labels = LEVELS[kind];
    const last = labels.length - 1;
    const common = attribute === 'state' || attribute === 'city';
    return {
      attribute,
      kind,
      levels: labels.map((label, l) => {
        // m falls and u rises from exact agreement to disagreement.
        const x = last === 0 ? 0 : l / last;
        const m = l === last ? 0.03 : 0.9 * Math.pow(0.3, l);
        const u = l === last ? 0.9 : (common ? 0.1 : 0.002) * Math.pow(3, l) * (1 - x / 2);
        return { label, m, u };
      }),
    };
  });
  const base = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    mode: 'dedupe' as const,
    lambda: options.lambda ?? 1e-4,
    threshold: 0.5,
    dateOrder: 'mdy' as const,
    comparisons,
    blocking: defaultBlockingRules(ATTRIBUTES),
  };
  const doc = {
    ...base,
    version: modelVersion(base),
    trainedAt: '2026-01-01T00:00:00.000Z',
    training: { records: 0, supervised: true, deterministicPairs: 0, deterministicRecall: 0.8, randomPairs: 0, emSessions: [] },
  };
  return parseModel(JSON.parse(JSON.stringify(doc)));
}
