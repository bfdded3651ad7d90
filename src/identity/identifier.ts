/**
 * Identifiers are the nodes of the identity graph: a `(type, value)` pair after normalisation.
 * Inside the resolver they travel as one string key, `type:value`, which is also how users write
 * them on the CLI and in Profile API paths (`email:jane@example.com`).
 */
declare const identifierKeyBrand: unique symbol;

/** `type:value`, minted only by {@link identifierKey} or {@link parseIdentifierKey}. */
export type IdentifierKey = string & { readonly [identifierKeyBrand]: true };

export interface Identifier {
  readonly type: string;
  readonly value: string;
}

/** Identifier types are lower-case words: letters, digits, `_`, `.` and `-`, 1 to 64 characters. */
export const IDENTIFIER_TYPE_PATTERN = /^[a-z][a-z0-9_.-]{0,63}$/;

export const MAX_IDENTIFIER_VALUE_LENGTH = 1024;

export function identifierKey(type: string, value: string): IdentifierKey {
  return `${type}:${value}` as IdentifierKey;
}

/** Splits a key at its first colon; values may themselves contain colons (URNs, E.164 never). */
export function splitIdentifierKey(key: IdentifierKey): Identifier {
  const at = key.indexOf(':');
  return { type: key.slice(0, at), value: key.slice(at + 1) };
}

/**
 * Parses user input such as `email:jane@example.com`. Returns undefined when the text has no
 * `type:` prefix, an invalid type, or an empty value. Normalisation of the value is the caller's
 * job (see `normalise-identifier.ts`), because it depends on the workspace's rules.
 */
export function parseIdentifierKey(text: string): Identifier | undefined {
  const at = text.indexOf(':');
  if (at <= 0) return undefined;
  const type = text.slice(0, at).trim().toLowerCase();
  const value = text.slice(at + 1);
  if (!IDENTIFIER_TYPE_PATTERN.test(type) || value.trim() === '') return undefined;
  if (value.length > MAX_IDENTIFIER_VALUE_LENGTH) return undefined;
  return { type, value };
}
