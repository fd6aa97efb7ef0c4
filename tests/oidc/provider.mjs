// The OpenID Connect provider the test suite signs in with: the certified `oidc-provider`
// package, on 127.0.0.1, with login and consent pages of its own (no outside resources).
//
//   node tests/oidc/provider.mjs PORT
//
// Test servers register their own client (dynamic registration, POST /reg) with their
// own redirect URI. A client registered with `"tamper": MODE` gets ID tokens that are
// wrong in one way, re-signed after the provider made them, so that Parley's refusal of
// each is tested through its real verification path:
//   nonce     the nonce claim is not the one Parley sent
//   expired   issued two hours ago, expired one hour ago
//   key       signed by another RSA key that carries the provider's key id
//   audience  issued to another client
//   issuer    names another issuer
// Accounts: any login name with the password `test-password`; the login becomes the
// subject, the preferred_username, an e-mail address and a name ("ana.lima" -> "Ana Lima").

import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, SignJWT } from 'jose';

const PASSWORD = 'test-password';
const port = Number(process.argv[2] ?? process.env.PARLEY_OIDC_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node provider.mjs PORT');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

async function signingKey() {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
}

const realKey = await signingKey();
const otherKey = { ...(await signingKey()), kid: realKey.kid };

function nameOf(login) {
  return login
    .split(/[._-]+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join(' ');
}

const escape = (text) =>
  String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)} · Test OpenID Provider</title>
<style>body{font-family:sans-serif;max-width:22rem;margin:3rem auto;color:#111}
label,input,button{display:block;width:100%;margin:.4rem 0;font-size:1rem}
input{padding:.4rem;box-sizing:border-box}button{padding:.5rem}</style></head>
<body><main><h1>${escape(title)}</h1>${body}</main></body></html>`;
}

const configuration = {
  clients: [],
  jwks: { keys: [realKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true },
  },
  extraClientMetadata: {
    properties: ['tamper'],
    validator(ctx, key, value) {
      const modes = [undefined, 'nonce', 'expired', 'key', 'audience', 'issuer'];
      if (key === 'tamper' && !modes.includes(value)) throw new Error(`unknown tamper mode ${value}`);
    },
  },
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          preferred_username: sub,
          name: nameOf(sub),
          email: `${sub}@example.test`,
          email_verified: true,
        };
      },
    };
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Something went wrong', `<pre>${escape(JSON.stringify(out, null, 2))}</pre>`);
  },
};

const provider = new Provider(issuer, configuration);

async function formBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// The login and consent pages, in front of the provider's own routes.
provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([^/]+)(?:\/(login|confirm|abort))?$/.exec(ctx.path);
  if (!match) return next();
  const [, uid, action] = match;
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.uid !== uid) ctx.throw(400, 'interaction mismatch');
  ctx.set('Cache-Control', 'no-store');
  if (!action && ctx.method === 'GET') {
    const client = await provider.Client.find(details.params.client_id);
    const who = escape(client?.clientName ?? details.params.client_id);
    ctx.type = 'html';
    ctx.body =
      details.prompt.name === 'login'
        ? page(
            'Sign in',
            `<form method="post" action="/interaction/${uid}/login">
<label for="login">Login</label><input id="login" name="login" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" required>
<button type="submit">Sign in</button></form>
<p><a href="/interaction/${uid}/abort">Cancel</a></p>`,
          )
        : page(
            'Authorize',
            `<p>${who} asks for your profile and e-mail address.</p>
<form method="post" action="/interaction/${uid}/confirm"><button type="submit">Allow</button></form>
<p><a href="/interaction/${uid}/abort">Deny</a></p>`,
          );
    return undefined;
  }
  if (action === 'login' && ctx.method === 'POST') {
    const form = await formBody(ctx.req);
    const login = form.get('login') ?? '';
    if (form.get('password') !== PASSWORD || !/^[A-Za-z0-9._-]{1,64}$/.test(login)) {
      ctx.type = 'html';
      ctx.status = 401;
      ctx.body = page('Sign in', `<p role="alert">Wrong login or password.</p>
<p><a href="/interaction/${uid}">Try again</a></p>`);
      return undefined;
    }
    return provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: login } });
  }
  if (action === 'confirm' && ctx.method === 'POST') {
    const { prompt, params, session, grantId } = details;
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    const saved = await grant.save();
    return provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId: saved } }, {
      mergeWithLastSubmission: true,
    });
  }
  if (action === 'abort' && ctx.method === 'GET') {
    return provider.interactionFinished(ctx.req, ctx.res, {
      error: 'access_denied',
      error_description: 'The user denied the request',
    });
  }
  return ctx.throw(405);
});

// Tampering: rewrite the ID token of a token response for clients that asked for it.
const signer = { key: await importJWK(realKey, 'RS256'), other: await importJWK(otherKey, 'RS256') };
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== '/token' || ctx.status !== 200 || !ctx.body?.id_token) return;
  const mode = ctx.oidc?.client?.tamper;
  if (!mode) return;
  const claims = decodeJwt(ctx.body.id_token);
  const header = decodeProtectedHeader(ctx.body.id_token);
  const now = Math.floor(Date.now() / 1000);
  if (mode === 'nonce') claims.nonce = 'not-the-nonce-that-was-sent';
  if (mode === 'expired') Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
  if (mode === 'audience') claims.aud = 'another-client';
  if (mode === 'issuer') claims.iss = 'http://127.0.0.1:9/not-the-issuer';
  const key = mode === 'key' ? signer.other : signer.key;
  ctx.body = {
    ...ctx.body,
    id_token: await new SignJWT(claims).setProtectedHeader({ alg: header.alg, kid: header.kid }).sign(key),
  };
});

const server = createServer(provider.callback());
server.listen(port, '127.0.0.1', () => console.log(`test OpenID provider at ${issuer}`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
