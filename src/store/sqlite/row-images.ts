import type { ProfileRow } from './sqlite-rows.ts';

/** An identifier row as it is stored now, within the current write transaction. */
export interface IdentifierImage {
  readonly id: number;
  profile: string | null;
  quarantined: number;
  peers: string;
}

/** A profile row's stored columns (everything but the key), within the current transaction. */
export type ProfileImage = Omit<ProfileRow, 'id'>;

/**
 * What the write connection knows the identifier and profile rows look like right now, learnt from
 * what this transaction loaded and wrote, so that `apply` writes only what changed: an identifier
 * known to be absent is inserted without an upsert, a known row is updated in the columns that
 * differ (a row whose indexed column is unchanged leaves its index alone, which saves a random
 * index page per row), an unknown one is upserted whole. Emptied at the start of each transaction:
 * another connection (or a rollback) may change rows between transactions, and nothing here is
 * trusted past the transaction that learnt it. Keys are `ws\0key` / `ws\0id`.
 */
export class RowImages {
  readonly identifiers = new Map<string, IdentifierImage>();
  /** Identifiers this transaction looked up and did not find. */
  readonly absentIdentifiers = new Set<string>();
  readonly profiles = new Map<string, ProfileImage>();
  readonly absentProfiles = new Set<string>();

  clear(): void {
    this.identifiers.clear();
    this.absentIdentifiers.clear();
    this.profiles.clear();
    this.absentProfiles.clear();
  }

  /** Identifiers of profile `from` now name `to` (a repoint statement ran). */
  repointIdentifiers(ws: string, from: string, to: string): void {
    const prefix = `${ws}\0`;
    for (const [k, image] of this.identifiers) if (image.profile === from && k.startsWith(prefix)) image.profile = to;
  }

  /** Profiles of component `from` now belong to `to`. */
  repointProfiles(ws: string, from: string, to: string): void {
    const prefix = `${ws}\0`;
    for (const [k, image] of this.profiles) if (image.component === from && k.startsWith(prefix)) image.component = to;
  }
}

/** The columns of `next` that differ from `image` (all of `next`'s keys when there is no image). */
export function changedColumns<T extends object>(image: T, next: T): Array<keyof T> {
  const changed: Array<keyof T> = [];
  for (const k of Object.keys(next) as Array<keyof T>) if (image[k] !== next[k]) changed.push(k);
  return changed;
}
