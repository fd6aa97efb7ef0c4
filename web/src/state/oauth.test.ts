import { describe, expect, it } from 'vitest';
import { describeOAuthError, parseOAuthReturn, providerLabel, startUrl } from './oauth';

describe('the outcome of a provider sign-in, from the fragment', () => {
  it('reads success, links and errors', () => {
    expect(parseOAuthReturn('#oauth=signed_in&provider=corp')).toEqual({ kind: 'signed_in', provider: 'corp' });
    expect(parseOAuthReturn('#oauth=linked&provider=github')).toEqual({ kind: 'linked', provider: 'github' });
    expect(parseOAuthReturn('#oauth_error=denied&provider=corp')).toEqual({
      kind: 'error',
      code: 'denied',
      provider: 'corp',
    });
    expect(parseOAuthReturn('#oauth_error=unknown_provider')).toEqual({
      kind: 'error',
      code: 'unknown_provider',
      provider: null,
    });
  });

  it('ignores fragments that are not one', () => {
    expect(parseOAuthReturn('')).toBeNull();
    expect(parseOAuthReturn('#top')).toBeNull();
    expect(parseOAuthReturn('#oauth=hacked')).toBeNull();
  });
});

describe('messages', () => {
  it('has words of its own for every code, and never echoes an unknown one', () => {
    expect(describeOAuthError('denied', 'Corp')).toBe('You cancelled signing in with Corp.');
    expect(describeOAuthError('state_mismatch', 'Corp')).toContain('try again');
    expect(describeOAuthError('token_invalid', 'Corp')).toContain('could not be verified');
    expect(describeOAuthError('identity_taken', 'GitHub')).toContain('another Parley user');
    const crafted = describeOAuthError('Your_account_is_locked_call_555', 'Corp');
    expect(crafted).not.toContain('555');
  });

  it('names providers by their display name', () => {
    const providers = [{ name: 'corp', display_name: 'Corp SSO', kind: 'oidc' as const }];
    expect(providerLabel(providers, 'corp')).toBe('Corp SSO');
    expect(providerLabel(providers, 'nope')).toBe('the provider');
    expect(providerLabel(providers, null)).toBe('the provider');
  });

  it('builds start links that keep the page to come back to', () => {
    expect(startUrl('corp')).toBe('/api/auth/oauth/corp/start');
    expect(startUrl('corp', '/r/5')).toBe('/api/auth/oauth/corp/start?next=%2Fr%2F5');
  });
});
