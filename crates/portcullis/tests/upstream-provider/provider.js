// panva's oidc-provider (https://github.com/panva/node-oidc-provider) on loopback: the
// independent OpenID provider Portcullis' integration tests sign in through (issue #19).
// Pinned to 8.8.1 (package-lock.json): the newest release line that supports Node.js 18
// and 20 (Debian's and this machine's); 9.x requires Node.js 22 LTS.
//
//   node provider.js [config.json]        (or the JSON in env PROVIDER_CONFIG)
//
// {
//   "port": 0,                            // 0: any free port
//   "clients": [{ "client_id": "rp", "client_secret": "s3cret",   // basic or post auth
//                 "redirect_uris": ["http://127.0.0.1:8080/login/corp/callback"] }],
//   "accounts": [{ "sub": "alice", "email": "alice@example.com", "email_verified": true,
//                  "name": "Alice", "amr": ["pwd", "mfa"] }],
//   "email_in_id_token": true             // false: email claims only from userinfo
// }
//
// The first line on stdout is `issuer: http://127.0.0.1:PORT`. Code flow only, PKCE
// (S256) required for every client, ID tokens signed RS256 with a key made at start.
//
// Interaction pages (no JavaScript, plain forms, drivable by any HTTP client with a
// cookie jar): GET /interaction/:uid shows the login form (`login` = an account's sub
// or email, `password` = anything) or the consent form; POST /interaction/:uid/login,
// /interaction/:uid/confirm, /interaction/:uid/abort (→ `error=access_denied` at the
// client's redirect_uri). They use oidc-provider's interaction API
// (interactionDetails / interactionResult), as its own example app does.
//
// Faults for the error tests: POST /__test/fault with {"fault": NAME} or {"fault": null}.
// NAME: bad_signature | wrong_nonce | wrong_issuer | wrong_audience | expired
// (the token endpoint's ID token is rewritten, re-signed with the provider's key except
// for bad_signature, signed with another key under the same `kid`), token_500,
// userinfo_500 (those endpoints answer 500).

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

// stdout carries the issuer line only: oidc-provider's notices go to stderr, and a
// reader that stopped listening never crashes the provider.
const toStderr = (...args) => console.error(...args);
console.log = toStderr;
console.info = toStderr;
process.stdout.on('error', () => {});

const config = JSON.parse(
  process.argv[2] ? fs.readFileSync(process.argv[2], 'utf8') : (process.env.PROVIDER_CONFIG ?? '{}'),
);
const clients = config.clients ?? (config.client ? [config.client] : []);
const accounts = config.accounts ?? [];
const emailInIdToken = config.email_in_id_token ?? true;

const findAccountBy = (login) => accounts.find((a) => a.sub === login || a.email === login);

// RS256 signing key, and a second one (same kid) for the bad-signature fault.
const kid = crypto.randomUUID();
const rsa = () => crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const signingKey = rsa();
const otherKey = rsa();
const jwk = { ...signingKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };

let fault = null;

const server = http.createServer();
await new Promise((resolve) => { server.listen(config.port ?? 0, '127.0.0.1', resolve); });
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    // oidc-provider takes client_secret_post as well for a client_secret_basic client.
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  })),
  jwks: { keys: [jwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  pkce: { required: () => true },
  claims: {
    // amr: the session's (from the login result) in the ID token, the account's in userinfo.
    openid: ['sub', 'amr'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  // false: the ID token of the code flow carries the scopes' claims too (not only
  // userinfo), as Google, Entra ID, GitLab and Keycloak do.
  conformIdTokenClaims: !emailInIdToken,
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const account = accounts.find((a) => a.sub === id);
    if (!account) return undefined;
    return {
      accountId: account.sub,
      async claims() {
        const claims = { sub: account.sub, preferred_username: account.sub };
        for (const key of ['email', 'email_verified', 'name', 'amr']) {
          if (account[key] !== undefined) claims[key] = account[key];
        }
        return claims;
      },
    };
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><title>Error</title><h1>${esc(out.error)}</h1><p>${esc(out.error_description ?? '')}</p>`;
  },
});

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const page = (title, body) => `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head><body>${body}</body></html>`;

function loginPage(uid, clientId, message) {
  return page('Sign in', `<h1>Sign in to continue to ${esc(clientId)}</h1>${message ? `<p class="error">${esc(message)}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<input name="login" placeholder="sub or email" autofocus>
<input name="password" type="password" placeholder="any password">
<button type="submit">Sign in</button>
</form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit">Cancel</button></form>`);
}

function consentPage(uid, clientId, details) {
  const scopes = details.missingOIDCScope ?? [];
  return page('Consent', `<h1>Allow ${esc(clientId)}?</h1><p>Scopes: ${esc(scopes.join(' '))}</p>
<form method="post" action="/interaction/${uid}/confirm"><button type="submit">Allow</button></form>
<form method="post" action="/interaction/${uid}/abort"><button type="submit">Deny</button></form>`);
}

function b64json(value) {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

// Rewrites and re-signs an ID token for the faults above.
function tamper(idToken, what) {
  const [header, payload] = idToken.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  let key = signingKey;
  if (what === 'bad_signature') key = otherKey;
  if (what === 'wrong_nonce') claims.nonce = 'not-the-nonce-that-was-sent';
  if (what === 'wrong_issuer') claims.iss = `${issuer}/someone-else`;
  if (what === 'wrong_audience') claims.aud = 'another-client';
  if (what === 'expired') {
    claims.iat -= 7200;
    claims.exp = Math.floor(Date.now() / 1000) - 3600;
  }
  const input = `${header}.${b64json(claims)}`;
  const signature = crypto.sign('sha256', Buffer.from(input), key).toString('base64url');
  return `${input}.${signature}`;
}

// Test controls and the interaction routes, ahead of oidc-provider's own routes.
provider.use(async (ctx, next) => {
  if (ctx.path === '/__test/fault' && ctx.method === 'POST') {
    const chunks = [];
    for await (const chunk of ctx.req) chunks.push(chunk);
    fault = JSON.parse(Buffer.concat(chunks).toString('utf8')).fault ?? null;
    ctx.status = 204;
    return;
  }
  if ((fault === 'token_500' && ctx.path === '/token') || (fault === 'userinfo_500' && ctx.path === '/me')) {
    ctx.status = 500;
    ctx.body = { error: 'server_error', error_description: 'fault injected by the test' };
    return;
  }

  const m = ctx.path.match(/^\/interaction\/([^/]+)(?:\/(login|confirm|abort))?$/);
  if (!m) {
    await next();
    if (fault && ctx.path === '/token' && ctx.status === 200 && ctx.body?.id_token
        && !['token_500', 'userinfo_500'].includes(fault)) {
      ctx.body = { ...ctx.body, id_token: tamper(ctx.body.id_token, fault) };
    }
    return;
  }
  const [, uid, action] = m;
  ctx.set('cache-control', 'no-store');
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.uid !== uid) ctx.throw(400, 'interaction mismatch');
  const { prompt, params } = details;

  if (!action && ctx.method === 'GET') {
    ctx.type = 'html';
    ctx.body = prompt.name === 'login'
      ? loginPage(uid, params.client_id)
      : consentPage(uid, params.client_id, prompt.details);
    return;
  }
  if (ctx.method !== 'POST') ctx.throw(405);

  let result;
  if (action === 'login') {
    if (prompt.name !== 'login') ctx.throw(400, 'not a login prompt');
    const form = await readForm(ctx.req);
    const account = findAccountBy(form.get('login') ?? '');
    if (!account) {
      ctx.status = 200;
      ctx.type = 'html';
      ctx.body = loginPage(uid, params.client_id, 'Unknown account');
      return;
    }
    result = { login: { accountId: account.sub, ...(account.amr ? { amr: account.amr } : {}) } };
  } else if (action === 'confirm') {
    if (prompt.name !== 'consent') ctx.throw(400, 'not a consent prompt');
    const { details: missing } = prompt;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    result = { consent: details.grantId ? {} : { grantId } };
  } else {
    result = { error: 'access_denied', error_description: 'End-User aborted interaction' };
  }
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
    mergeWithLastSubmission: action === 'confirm',
  });
  ctx.status = 303;
  ctx.redirect(returnTo);
});

server.on('request', provider.callback());
process.stdout.write(`issuer: ${issuer}\n`);

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
