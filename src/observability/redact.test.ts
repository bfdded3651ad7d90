import { describe, expect, it } from 'vitest';
import { redactUrl } from './redact.ts';

describe('redactUrl', () => {
  it('keeps the identifier type and the route, never the value', () => {
    expect(redactUrl('/v1/spaces/default/collections/users/profiles/email:jane@example.com/traits?limit=5')).toBe(
      '/v1/spaces/default/collections/users/profiles/email:***/traits?limit=5',
    );
    expect(redactUrl('/v1/spaces/d/collections/users/profiles/phone%3A%2B14155550134/explain?to=user_id:u1')).toBe(
      '/v1/spaces/d/collections/users/profiles/phone:***/explain?to=***',
    );
    expect(redactUrl('/v1/spaces/d/collections/users/profiles/user_id:u1/external_ids/email:a@b.io')).toBe(
      '/v1/spaces/d/collections/users/profiles/user_id:***/external_ids/email:***',
    );
    expect(redactUrl('/v1/batch')).toBe('/v1/batch');
  });
});
