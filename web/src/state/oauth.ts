/**
 * Signing in with another service (OpenID Connect providers, GitHub).
 *
 * Those sign-ins are browser navigations, not API calls: the sign-in screen
 * links to `/api/auth/oauth/NAME/start`, the provider sends the browser back to
 * the server, and the server redirects into this client with the outcome in
 * the URL's fragment: `#oauth=signed_in` (the session cookie is set),
 * `#oauth=linked`, or `#oauth_error=CODE`, each with `&provider=NAME`. The
 * server only ever sends a code; the words for it are here, so nobody can put
 * a message of their own on the sign-in screen with a crafted link.
 */

/** A configured provider (GET /api/auth/providers). */
export interface Provider {
  name: string;
  display_name: string;
  kind: 'oidc' | 'github';
}

/** A provider account linked to the signed-in user. */
export interface Identity {
  id: string;
  /** The provider's name, or null when it is no longer configured. */
  provider: string | null;
  display_name: string;
  /** What the account is called at the provider. */
  label: string;
  created_at: string;
}

/** GET /api/me/identities: every way the user can sign in. */
export interface SignInMethods {
  has_password: boolean;
  identities: Identity[];
}

export type OAuthReturn =
  | { kind: 'signed_in'; provider: string | null }
  | { kind: 'linked'; provider: string | null }
  | { kind: 'error'; code: string; provider: string | null };

/** The outcome in a fragment like `#oauth_error=denied&provider=corp`, or null. */
export function parseOAuthReturn(hash: string): OAuthReturn | null {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const provider = params.get('provider');
  const outcome = params.get('oauth');
  if (outcome === 'signed_in' || outcome === 'linked') return { kind: outcome, provider };
  const code = params.get('oauth_error');
  if (code !== null) return { kind: 'error', code, provider };
  return null;
}

/** What to tell the user about a failed sign-in or link with `who` (a provider's name). */
export function describeOAuthError(code: string, who: string): string {
  switch (code) {
    case 'denied':
      return `You cancelled signing in with ${who}.`;
    case 'state_invalid':
    case 'state_mismatch':
    case 'state_used':
      return `That sign-in with ${who} had expired or was started in another window. Please try again.`;
    case 'token_invalid':
      return `${who}'s answer could not be verified, so you were not signed in. Please try again.`;
    case 'provider_unavailable':
      return `${who} cannot be reached right now. Try again in a moment.`;
    case 'provider_error':
      return `${who} could not sign you in. Please try again.`;
    case 'identity_taken':
      return `That ${who} account is already linked to another Parley user.`;
    case 'unknown_provider':
      return 'That sign-in option is not available here.';
    case 'rate_limited':
      return 'Too many attempts. Wait a minute and try again.';
    default:
      return `Signing in with ${who} did not work. Please try again.`;
  }
}

/** The display name of the provider called `name`, or a neutral word. */
export function providerLabel(providers: Provider[], name: string | null): string {
  return providers.find((p) => p.name === name)?.display_name ?? 'the provider';
}

/** The start of a sign-in with `provider`, landing back on `next` (a path on this site). */
export function startUrl(provider: string, next = '/'): string {
  const query = next === '/' ? '' : `?next=${encodeURIComponent(next)}`;
  return `/api/auth/oauth/${encodeURIComponent(provider)}/start${query}`;
}
