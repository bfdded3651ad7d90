import { describe, expect, it } from 'vitest';
import { RowCache } from './row-cache.ts';
import type { IdentifierRow, ProfileRow } from './sqlite-rows.ts';

const ident = (key: string, profile: string | null, id = 1): IdentifierRow => ({
  id,
  key,
  profile,
  quarantined: 0,
  first_t: 0,
  first_m: 'm',
  first_pos: 0,
  first_source: 's',
  peers: '{}',
});
const profile = (id: string, component: string): ProfileRow => ({
  id,
  component,
  founder: 'user_id:x',
  founder_t: 0,
  founder_m: 'm',
  founder_pos: 0,
  traits: '{}',
  counts: '{}',
  first_t: 0,
  last_t: 0,
  consent: '{}',
});

describe('RowCache', () => {
  it('follows profile and component repoints for the rows it holds, per workspace', () => {
    const c = new RowCache();
    c.putIdentifier('w1', ident('email:a', 'p1'));
    c.putIdentifier('w1', ident('email:b', 'p1'));
    c.putIdentifier('w2', ident('email:a', 'p1'));
    c.repointProfile('w1', 'p1', 'p2');
    expect(c.identifier('w1', 'email:a')?.profile).toBe('p2');
    expect(c.identifier('w1', 'email:b')?.profile).toBe('p2');
    expect(c.identifier('w2', 'email:a')?.profile).toBe('p1');
    c.repointProfile('w1', 'p2', 'p3');
    expect(c.identifier('w1', 'email:a')?.profile).toBe('p3');

    c.putProfile('w1', profile('p3', 'c1'));
    c.repointComponent('w1', 'c1', 'c2');
    expect(c.profile('w1', 'p3')?.component).toBe('c2');
  });

  it('evicts the oldest rows when full and never resurrects them through a repoint', () => {
    const c = new RowCache({ identifiers: 10, profiles: 10, components: 10 });
    for (let i = 0; i < 25; i++) c.putIdentifier('w', ident(`anonymous_id:${i}`, 'p', i));
    expect(c.sizes.identifiers).toBeLessThanOrEqual(10);
    expect(c.identifier('w', 'anonymous_id:0')).toBeUndefined();
    expect(c.identifier('w', 'anonymous_id:24')?.id).toBe(24);
    c.repointProfile('w', 'p', 'q');
    expect(c.identifier('w', 'anonymous_id:0')).toBeUndefined();
    expect(c.identifier('w', 'anonymous_id:24')?.profile).toBe('q');
    expect(c.sizes.identifiers).toBeLessThanOrEqual(10);
  });

  it('serves nothing while suspended, and starts empty after clear', () => {
    const c = new RowCache();
    c.putIdentifier('w', ident('email:a', 'p'));
    c.suspend();
    expect(c.identifier('w', 'email:a')).toBeUndefined();
    c.putIdentifier('w', ident('email:b', 'p'));
    c.clear();
    expect(c.identifier('w', 'email:b')).toBeUndefined();
    c.putIdentifier('w', ident('email:c', 'p'));
    expect(c.identifier('w', 'email:c')?.key).toBe('email:c');
  });
});
