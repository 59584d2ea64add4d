import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../../local/cloud/control-token.ts';

describe('redactSecrets (the local control API never shows a password)', () => {
  it('masks the password of a connection string', () => {
    expect(redactSecrets('postgres://postgres:s3cret@127.0.0.1:5432/shop')).toBe(
      'postgres://postgres:****@127.0.0.1:5432/shop',
    );
  });

  it('masks every URL inside a larger value, e.g. a JSON map of regional endpoints', () => {
    const value = JSON.stringify({
      eu: { databaseUrl: 'postgres://postgres:a@127.0.0.1:1/shop' },
      us: { databaseUrl: 'postgres://postgres:b@127.0.0.1:2/shop' },
    });
    const masked = redactSecrets(value);
    expect(masked).not.toContain(':a@');
    expect(masked).not.toContain(':b@');
    expect(JSON.parse(masked).us.databaseUrl).toBe('postgres://postgres:****@127.0.0.1:2/shop');
  });

  it('leaves text without credentials unchanged', () => {
    for (const value of ['http://127.0.0.1:4566', 'eu-west-1', 'postgres://127.0.0.1:5432']) {
      expect(redactSecrets(value)).toBe(value);
    }
  });
});
