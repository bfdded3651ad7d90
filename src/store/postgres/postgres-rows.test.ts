import { describe, expect, it } from 'vitest';
import { jsonb, pgJson } from './postgres-rows.ts';

describe('JSON text for PostgreSQL', () => {
  it('replaces U+0000 and unpaired surrogates with U+FFFD, in values and keys', () => {
    const value = { 'k\u0000': ['a\u0000b', 'x\ud800', '\udc00y', 'p\udc00\ud800q'] };
    expect(JSON.parse(jsonb(value))).toEqual({ 'k\ufffd': ['a\ufffdb', 'x\ufffd', '\ufffdy', 'p\ufffd\ufffdq'] });
  });

  it('keeps everything else exactly: surrogate pairs, other escapes, escaped backslashes before "u0000"', () => {
    const value = { emoji: '\ud83d\ude00', control: '\u0001\n\t"', literal: '\\u0000 and \\\\ud800', mixed: '\\\u0000' };
    const text = jsonb(value);
    expect(JSON.parse(text)).toEqual({ ...value, mixed: '\\\ufffd' });
    const plain = JSON.stringify({ a: 'plain', b: [1, 2.5, null, true] });
    expect(pgJson(plain)).toBe(plain);
  });
});
