import type { ComparedAttribute } from './attributes.ts';
import { describeRule, type BlockingKeyPart, type BlockingRule } from './model.ts';
import { nicknameKey } from './nicknames.ts';
import { NumberingScratch, combineColumns, numberPairs } from './number-tuples.ts';
import type { Feature, PreparedRecord } from './prepare-record.ts';
import type { FeatureTable } from './score.ts';
import { int32s } from './typed-arena.ts';

/** The value of one key part for a feature (undefined when missing). */
export function partValue(part: BlockingKeyPart, f: Feature | undefined): string | undefined {
  if (f === undefined) return undefined;
  switch (part.transform) {
    case 'exact':
      return f.v;
    case 'phonetic': {
      const code = f.phonetic?.[0];
      return code === undefined || code === '' ? f.v : code;
    }
    case 'initial':
      return f.v.charAt(0);
    case 'prefix': {
      const compact = f.compact ?? f.v;
      return compact.length < 3 ? undefined : compact.slice(0, 3);
    }
    case 'year':
      return f.date === undefined ? undefined : String(f.date.y);
    case 'monthDay':
      return f.date === undefined || f.date.m === 0 || f.date.d === 0 ? undefined : `${f.date.m}-${f.date.d}`;
    case 'last7':
      return f.v.length < 7 ? undefined : f.v.slice(-7);
    case 'nickname':
      return nicknameKey(f.tokens?.[0] ?? f.v);
    default: {
      const never: never = part.transform;
      throw new Error(`unknown blocking transform ${String(never)}`);
    }
  }
}

/** Value numbers from feature numbers start here, above any dictionary number. */
const FEATURE_IDS = 1 << 28;

/**
 * The blocking key parts of a set of records, interned: each part's value per record as a number
 * (-1 when missing), computed once per part and shared by every rule that uses it. A rule's
 * blocks are then found by numbers, not by building a key string per record and rule, which is
 * what a million records and twenty rules can afford.
 */
export class KeyParts {
  private readonly dictionary = new Map<string, number>();
  private readonly parts = new Map<string, Int32Array>();
  private readonly scratch = new NumberingScratch();
  private memoStamp = new Int32Array(0);
  private memoValue = new Int32Array(0);
  private stamp = 0;
  constructor(
    private readonly records: readonly PreparedRecord[],
    private readonly attributes: readonly ComparedAttribute[],
    /** The records' feature numbers, when they have them: read instead of the records. */
    private readonly table?: FeatureTable,
  ) {}

  /**
   * The value number of `part` for every record, -1 where it is missing. An exact part of
   * numbered features is numbered by feature (no text looked up) unless `shared`: the parts of an
   * unordered rule must number equal values of different attributes alike.
   */
  of(part: BlockingKeyPart, shared = false): Int32Array {
    const byId = part.transform === 'exact' && !shared;
    const name = `${part.attribute}.${part.transform}${byId ? '#' : ''}`;
    const known = this.parts.get(name);
    if (known !== undefined) return known;
    const c = this.attributes.indexOf(part.attribute);
    const n = this.records.length;
    const ids = int32s(n).fill(-1);
    const table = this.table;
    if (c >= 0 && table !== undefined) {
      // Feature numbers in, value numbers out: a typed array read per record, one dictionary
      // lookup per distinct feature (memo entries are stamped with the part's number, so the
      // memo is cleared by moving on to the next part).
      const stamp = ++this.stamp;
      if (!byId && this.memoStamp.length < table.byId.length) {
        this.memoStamp = int32s(table.byId.length);
        this.memoValue = int32s(table.byId.length);
      }
      const memoStamp = this.memoStamp;
      const memoValue = this.memoValue;
      const width = table.width;
      for (let i = 0; i < n; i++) {
        const fid = table.ids[i * width + c]!;
        if (fid < 0) continue;
        if (byId) {
          ids[i] = FEATURE_IDS + fid;
          continue;
        }
        if (memoStamp[fid] !== stamp) {
          const value = partValue(part, table.byId[fid]!);
          memoValue[fid] = value === undefined ? -1 : this.number(value);
          memoStamp[fid] = stamp;
        }
        ids[i] = memoValue[fid]!;
      }
    } else if (c >= 0) {
      // Records prepared with one feature cache share numbered feature objects: one dictionary
      // lookup per distinct value (-2: not looked up yet).
      let top = -1;
      for (let i = 0; i < n; i++) top = Math.max(top, this.records[i]!.features[c]?.id ?? -1);
      const byFeature = new Int32Array(top + 1).fill(-2);
      const lookup = (f: Feature): number => {
        const value = partValue(part, f);
        return value === undefined ? -1 : this.number(value);
      };
      for (let i = 0; i < n; i++) {
        const f = this.records[i]!.features[c];
        if (f === undefined) continue;
        const fid = f.id;
        if (fid === undefined) ids[i] = lookup(f);
        else if (byId) ids[i] = FEATURE_IDS + fid;
        else {
          let id = byFeature[fid]!;
          if (id === -2) byFeature[fid] = id = lookup(f);
          ids[i] = id;
        }
      }
    }
    this.parts.set(name, ids);
    return ids;
  }

  private number(value: string): number {
    let id = this.dictionary.get(value);
    if (id === undefined) {
      id = this.dictionary.size;
      this.dictionary.set(value, id);
    }
    return id;
  }

  private readonly ruleBlocks = new Map<string, { readonly ids: Int32Array; readonly count: number }>();

  /** Each record's block under `rule` (numbered from 0, -1 without a key) and the number of blocks. */
  blocks(rule: BlockingRule): { readonly ids: Int32Array; readonly count: number } {
    const name = describeRule(rule);
    const known = this.ruleBlocks.get(name);
    if (known !== undefined) return known;
    const n = this.records.length;
    let result: { ids: Int32Array; count: number };
    if (rule.unordered !== true && rule.parts.length > 1) {
      // The rule without its last part is often known already (rules refined one part at a time),
      // and its blocks are numbered densely already.
      const head = this.blocks({ parts: rule.parts.slice(0, -1) });
      result = numberPairs(head.ids, head.count, this.of(rule.parts[rule.parts.length - 1]!), this.scratch);
      this.ruleBlocks.set(name, result);
      return result;
    }
    const columns = rule.parts.map((p) => this.of(p, rule.unordered === true));
    if (rule.unordered === true && columns.length > 1) {
      // Sorted per record, then numbered position by position like an ordered rule.
      const sorted = columns.map(() => int32s(n));
      const values = new Int32Array(columns.length);
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < columns.length; k++) values[k] = columns[k]![i]!;
        values.sort();
        for (let k = 0; k < columns.length; k++) sorted[k]![i] = values[k]!;
      }
      result = combineColumns(sorted, this.scratch);
    } else result = combineColumns(columns, this.scratch);
    this.ruleBlocks.set(name, result);
    return result;
  }
}
