// A real OpenID Connect provider for the hub's tests: oidc-provider (the npm package, pinned in
// package-lock.json) on 127.0.0.1, port 0, over HTTPS with the certificate the test made.
//
//   node tests/oidc/idp.mjs <config.json>
//
// config.json: {
//   "cert": "<PEM file>", "key": "<PEM file>",        // the server certificate and its key
//   "host": "localhost",                               // the name in the issuer URL
//   "password": "…",                                   // the one password the login form takes
//   "clients": [{"client_id", "client_secret", "redirect_uris": [...],
//                "token_endpoint_auth_method"?}],
//   "emails": {"<login>": "<address>"}                 // optional; default <login>@acme.example
// }
//
// Readiness: once it listens it prints one line, the issuer URL (`https://localhost:43123`),
// and nothing else on stdout. It runs until it is killed.
//
// Its own pages (login, errors) are plain HTML with no resource from elsewhere: oidc-provider's
// development pages load a web font from the internet, which a test must never do. Any login
// name signs in with the configured password; the account's `sub` and `preferred_username`
// are the login name, its `email` the configured address (verified).

import https from 'node:https';
import { readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

// The test reads the first line only; a closed pipe must not end the provider.
process.stdout.on('error', () => {});

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const tls = { cert: readFileSync(config.cert), key: readFileSync(config.key) };

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title></head>
<body><main><h1>${esc(title)}</h1>${body}</main></body></html>`;

let handler = (req, res) => {
  res.statusCode = 503;
  res.end();
};
const server = https.createServer(tls, (req, res) => handler(req, res));
server.listen(0, '127.0.0.1', () => {
  const issuer = `https://${config.host}:${server.address().port}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const provider = new Provider(issuer, {
    clients: config.clients.map((c) => ({
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...c,
    })),
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), use: 'sig', kid: 'test-rs256' }] },
    cookies: { keys: ['portcullis-test-idp-cookie-key'] },
    claims: {
      openid: ['sub'],
      profile: ['preferred_username', 'name'],
      email: ['email', 'email_verified'],
    },
    // Scope claims in the ID token itself: the hub reads the ID token only.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            preferred_username: id,
            name: id,
            email: config.emails?.[id] ?? `${id}@acme.example`,
            email_verified: true,
          };
        },
      };
    },
    // Consent is the client's registration here: every scope asked for is granted.
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid profile email');
      await grant.save();
      return grant;
    },
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('The identity provider refused', Object.entries(out)
        .map(([k, v]) => `<p><strong>${esc(k)}</strong>: ${esc(v)}</p>`).join(''));
    },
  });
  const oidc = provider.callback();

  const form = (uid, error) => page('Test identity provider', `
${error ? `<p role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/interaction/${esc(uid)}/login">
  <p><label for="login">Login</label> <input id="login" name="login" required autocomplete="username"></p>
  <p><label for="password">Password</label> <input id="password" name="password" type="password" required autocomplete="current-password"></p>
  <p><button type="submit">Sign in at the identity provider</button></p>
</form>`);

  const body = (req) => new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      data += chunk;
      if (data.length > 64 * 1024) reject(new Error('body too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(data)));
    req.on('error', reject);
  });

  handler = async (req, res) => {
    const path = new URL(req.url, issuer).pathname;
    const m = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(path);
    if (!m) return oidc(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== m[1]) throw new Error('interaction mismatch');
      if (req.method === 'GET') {
        res.setHeader('content-type', 'text/html; charset=utf-8');
        return res.end(form(details.uid));
      }
      const f = await body(req);
      if (!f.get('login') || f.get('password') !== config.password) {
        res.statusCode = 401;
        res.setHeader('content-type', 'text/html; charset=utf-8');
        return res.end(form(details.uid, 'Wrong login or password.'));
      }
      await provider.interactionFinished(req, res, { login: { accountId: f.get('login') } }, {
        mergeWithLastSubmission: false,
      });
    } catch (e) {
      res.statusCode = 400;
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(page('The identity provider refused', `<p>${esc(e.message)}</p>`));
    }
  };
  process.stdout.write(`${issuer}\n`);
});
