// A real, certified OpenID provider (panva/oidc-provider) on loopback, configured the way
// Auth0 behaves where it matters to auth0-server for Rust, for the end-to-end tests in
// crates/auth0-server-core/tests/oidc_provider.rs. Started by scripts/oidc-provider.sh.
//
//   node provider.mjs [--port N] [--watch-pid PID]
//
// It listens on 127.0.0.1 only (port 0, the default, picks a free one) and prints
// `issuer=http://127.0.0.1:PORT` on stdout once it accepts requests. Everything it keeps
// (clients, sessions, grants, tokens) lives in memory and dies with the process. Each test
// registers its own client by dynamic client registration (POST /reg), with its own
// redirect and back-channel logout URIs on a loopback port of its own.
//
// What needed configuring, and why:
// - Back-channel logout: oidc-provider refuses to POST to special-use addresses (its SSRF
//   guard), and the tests listen on 127.0.0.1; `fetch` drops the guard for loopback URLs only.
// - Auth0's `audience` parameter is a resource indicator (RFC 8707) here: `audience` is an
//   extra authorization parameter, `defaultResource` turns it into the request's resource,
//   and `useGrantedResource` keeps it for the code exchange and for refreshes, where an
//   `openid` request would otherwise get an opaque token for the userinfo endpoint. Every
//   absolute URI is a resource server, issuing RS256 JWT access tokens (like Auth0's APIs)
//   with the scopes in RESOURCE_SCOPES.
// - `conformIdTokenClaims: false` puts the profile and email claims into the ID token, as
//   Auth0 does (the spec's default sends them to the userinfo endpoint only, when an access
//   token is issued).
// - Refresh tokens: a client needs the refresh_token grant and the login the
//   `offline_access` scope, which oidc-provider only honours with `prompt=consent`.
// - devInteractions: the built-in login form (any login and password) and consent form.
// - PKCE is required of every client, so the tests prove the SDK sends it.
// - Organizations (Auth0's, not OpenID): an `organization` authorization parameter naming
//   one of ORGANIZATIONS (by id or by name) puts its `org_id` and `org_name` into the ID
//   token and the access tokens of that login and its refreshes. See "Organizations" below.
// - Rich Authorization Requests (RFC 9396): the made-up type RAR_TYPE is accepted, consented
//   to with the rest, and granted as asked (code, access tokens, refreshes).
// - Client authentication: the client secret (HTTP Basic or in the form) or private_key_jwt,
//   with client assertions signed RS256, PS256 or ES256 (what Auth0 and the SDK support). A
//   private_key_jwt client registers its public key as `jwks` (the tests make the keys).
//
// Test hooks (not OpenID; under /_test/, loopback only, for counting and fault injection
// at the token endpoint, the one place the SDK talks to that the tests cannot sit in front
// of, since it trusts only the endpoints its issuer's discovery document names):
// - GET  /_test/token-requests?client_id=ID  -> {"refresh_token": n, "authorization_code": m}:
//   the token requests that arrived from that client, by grant type, faults included.
// - POST /_test/token-faults  {"client_id", "grant_type", "status", "retry_after", "count"}:
//   the next `count` token requests of that client and grant type are answered with
//   `status` (and `Retry-After: retry_after` seconds when given) instead of reaching the
//   provider.
//
// CIBA (Client-Initiated Backchannel Authentication, poll mode), in its own block below: a
// client registered with the `urn:openid:params:grant-type:ciba` grant and
// `backchannel_token_delivery_mode: "poll"` may POST to /backchannel with Auth0's
// `login_hint` JSON ({"format":"iss_sub","iss":ISSUER,"sub":SUB}); the answer carries
// `interval: CIBA_INTERVAL` (oidc-provider names none, and clients would wait 5 s). The
// "authentication device" is the test:
// - GET  /_test/ciba/pending?client_id=ID -> [{"auth_req_id", "sub", "binding_message"}]:
//   the requests of that client no one has answered yet.
// - POST /_test/ciba/answer {"auth_req_id", "approve": bool} -> 204: the user approves
//   (a grant of the requested scopes and API) or denies (access_denied), through the
//   provider's own backchannelResult.
// A `slow_down` is a token fault with `"error": "slow_down"` (status 400).

import { randomBytes, generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import * as querystring from 'node:querystring';

import Provider, { errors } from 'oidc-provider';

/** The only address the provider listens on, and the only one its back-channel may reach. */
const HOST = '127.0.0.1';
/** The scopes every resource server (API audience) offers. */
const RESOURCE_SCOPES = 'read:messages write:messages';
/** Access-token lifetime for API audiences, seconds (Auth0's default is a day; an hour here). */
const ACCESS_TOKEN_TTL = 3600;
/** Largest request body the test hooks read (the provider's own limit is 56 KiB). */
const BODY_LIMIT = 56 * 1024;

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    // Exit when this process is gone (scripts/test passes its own pid), so a provider
    // never outlives the run that started it, even when that run is killed outright.
    'watch-pid': { type: 'string' },
  },
});

const log = (...parts) => console.error(new Date().toISOString(), ...parts);

function isLoopbackUrl(url) {
  const { hostname } = new URL(url);
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

// A signing key made at start: nothing to commit, nothing that outlives the process.
function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    ...privateKey.export({ format: 'jwk' }),
    kid: randomBytes(8).toString('hex'),
    alg: 'RS256',
    use: 'sig',
  };
}

// Accounts: any login works (devInteractions); the profile is derived from it, so the tests
// know what to expect: login `ada@example.com` gives sub `ada@example.com`, nickname `ada`,
// name `ada (test user)`, email `ada@example.com`, email_verified true.
async function findAccount(_ctx, id, token) {
  const nickname = id.split('@')[0];
  const email = id.includes('@') ? id : `${id}@example.com`;
  const organization = organizationClaims(token);
  return {
    accountId: id,
    async claims() {
      return {
        ...organization,
        sub: id,
        name: `${nickname} (test user)`,
        nickname,
        given_name: nickname,
        family_name: 'Test',
        picture: 'https://example.com/avatar.png',
        updated_at: 1767225600,
        email,
        email_verified: true,
      };
    },
  };
}

// Organizations: Auth0 adds `org_id` and `org_name` to the tokens of a login that asked for
// an `organization`. oidc-provider has no such thing; the parameter is an extra one, noted by
// the authorization request's nonce, carried over to the grant when the code is exchanged
// (findAccount sees the code), and read for every token of that grant.
/** The organizations: id -> name. */
const ORGANIZATIONS = new Map([
  ['org_acme123', 'acme'],
  ['org_other456', 'other'],
]);
const organizationByNonce = new Map(); // authorization request's nonce -> org id
const organizationByGrant = new Map(); // grant id -> org id

function organizationNamed(asked) {
  if (typeof asked !== 'string') return undefined;
  if (ORGANIZATIONS.has(asked)) return asked;
  for (const [id, name] of ORGANIZATIONS) if (name === asked.toLowerCase()) return id;
  return undefined;
}

async function noteOrganization(ctx, next) {
  if (ctx.path === '/auth' && ctx.method === 'GET' && ctx.query.organization && ctx.query.nonce) {
    const id = organizationNamed(ctx.query.organization);
    if (id) organizationByNonce.set(String(ctx.query.nonce), id);
  }
  return next();
}

/** The org claims for the grant a token (code, refresh token, access token) belongs to. */
function organizationClaims(token) {
  if (token?.nonce && organizationByNonce.has(token.nonce) && token.grantId) {
    organizationByGrant.set(token.grantId, organizationByNonce.get(token.nonce));
  }
  const id = token?.grantId && organizationByGrant.get(token.grantId);
  return id ? { org_id: id, org_name: ORGANIZATIONS.get(id) } : {};
}

// Rich Authorization Requests: one made-up type, whose entries need a string `amount`.
const RAR_TYPE = 'payment_initiation';

// Counting and fault injection at the token endpoint (see the header).
const tokenRequests = new Map(); // client_id -> { grant_type: count }
const tokenFaults = []; // { client_id, grant_type, status, retry_after, count }

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > BODY_LIMIT) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function clientIdOf(req, form) {
  if (form.client_id) return String(form.client_id);
  const auth = req.headers.authorization ?? '';
  if (!auth.toLowerCase().startsWith('basic ')) return undefined;
  const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
  return decodeURIComponent(decoded.split(':')[0].replace(/\+/g, ' '));
}

function json(ctx, status, body) {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(body);
}

async function testHooks(ctx, next) {
  if (ctx.path === '/_test/token-requests' && ctx.method === 'GET') {
    return json(ctx, 200, tokenRequests.get(ctx.query.client_id) ?? {});
  }
  if (ctx.path === '/_test/token-faults' && ctx.method === 'POST') {
    const fault = JSON.parse(await readBody(ctx.req));
    if (!fault.client_id || !fault.grant_type || !Number.isInteger(fault.status)) {
      return json(ctx, 400, { error: 'client_id, grant_type and status are required' });
    }
    tokenFaults.push({ count: 1, ...fault });
    return json(ctx, 201, fault);
  }
  if (ctx.path === '/token' && ctx.method === 'POST') {
    // Read the body here to see who asks for what; oidc-provider then takes the parsed
    // body from req.body (it says so once on stderr: "already parsed request body").
    const raw = await readBody(ctx.req);
    ctx.req.body = raw;
    const form = querystring.parse(raw);
    const clientId = clientIdOf(ctx.req, form) ?? '(unknown)';
    const grantType = String(form.grant_type ?? '(none)');
    const counts = tokenRequests.get(clientId) ?? {};
    counts[grantType] = (counts[grantType] ?? 0) + 1;
    tokenRequests.set(clientId, counts);
    const fault = tokenFaults.find((f) => f.client_id === clientId && f.grant_type === grantType);
    if (fault) {
      fault.count -= 1;
      if (fault.count <= 0) tokenFaults.splice(tokenFaults.indexOf(fault), 1);
      if (fault.retry_after !== undefined) ctx.set('Retry-After', String(fault.retry_after));
      log(`test hook: token request ${grantType} of ${clientId} answered ${fault.status}`);
      return json(ctx, fault.status, {
        error: fault.error ?? (fault.status === 429 ? 'too_many_requests' : 'temporarily_unavailable'),
        error_description: 'injected by the test hooks of provider.mjs',
      });
    }
  }
  return next();
}

// --- CIBA (see the header) -------------------------------------------------------------

/** The `interval` (seconds) the backchannel authentication endpoint tells clients. */
const CIBA_INTERVAL = 1;
/** Requests no one has answered yet: auth_req_id -> { clientId, sub, binding_message }. */
const cibaPending = new Map();

/** Auth0's `login_hint`: {"format":"iss_sub","iss":ISSUER,"sub":SUB}; returns SUB. */
function cibaLoginHintSub(ctx, loginHint) {
  let hint;
  try {
    hint = JSON.parse(loginHint);
  } catch {
    throw new errors.InvalidRequest('login_hint must be JSON (format iss_sub)');
  }
  if (hint?.format !== 'iss_sub' || hint.iss !== ctx.oidc.issuer || typeof hint.sub !== 'string') {
    throw new errors.InvalidRequest('login_hint must be {"format":"iss_sub","iss":ISSUER,"sub":SUB}');
  }
  return hint.sub;
}

const cibaFeature = {
  enabled: true,
  deliveryModes: ['poll'],
  processLoginHint: async (ctx, loginHint) => cibaLoginHintSub(ctx, loginHint),
  processLoginHintToken: async () => {
    throw new errors.InvalidRequest('login_hint_token is not supported here: use login_hint');
  },
  validateBindingMessage: async (_ctx, message) => {
    // Auth0's rule: up to 64 characters of letters, digits, spaces and +-_.,:#
    if (message !== undefined && !/^[A-Za-z0-9 +\-_.,:#]{1,64}$/.test(message)) {
      throw new errors.InvalidBindingMessage('binding_message: 1-64 of A-Z a-z 0-9 space +-_.,:#');
    }
  },
  validateRequestContext: async () => {},
  verifyUserCode: async () => {},
  triggerAuthenticationDevice: async (_ctx, request, account, client) => {
    cibaPending.set(request.jti, {
      clientId: client.clientId,
      sub: account.accountId,
      binding_message: request.params.binding_message,
    });
  },
};

/** The user's answer on their device, through the provider's backchannelResult. */
async function cibaAnswer(authReqId, approve) {
  const request = await provider.BackchannelAuthenticationRequest.find(authReqId, {
    ignoreExpiration: true,
  });
  if (!request) throw new Error('no such backchannel authentication request');
  cibaPending.delete(authReqId);
  if (!approve) {
    return provider.backchannelResult(request, new errors.AccessDenied('the user denied'));
  }
  const grant = new provider.Grant({ accountId: request.accountId, clientId: request.clientId });
  grant.addOIDCScope(request.scope);
  if (request.resource) grant.addResourceScope(request.resource, RESOURCE_SCOPES);
  await grant.save();
  return provider.backchannelResult(request, grant, { authTime: Math.floor(Date.now() / 1000) });
}

async function cibaHooks(ctx, next) {
  if (ctx.path === '/_test/ciba/pending' && ctx.method === 'GET') {
    const pending = [...cibaPending]
      .filter(([, r]) => r.clientId === ctx.query.client_id)
      .map(([id, r]) => ({ auth_req_id: id, sub: r.sub, binding_message: r.binding_message }));
    return json(ctx, 200, pending);
  }
  if (ctx.path === '/_test/ciba/answer' && ctx.method === 'POST') {
    const { auth_req_id: id, approve } = JSON.parse(await readBody(ctx.req));
    try {
      await cibaAnswer(String(id), approve === true);
    } catch (err) {
      return json(ctx, 404, { error: err.message });
    }
    ctx.status = 204;
    return undefined;
  }
  await next();
  if (ctx.path === '/backchannel' && ctx.status === 200 && ctx.body?.auth_req_id) {
    ctx.body.interval = CIBA_INTERVAL;
  }
  return undefined;
}

// --- end of CIBA -------------------------------------------------------------------------

const server = createServer();
server.listen(Number(args.port), HOST);
await once(server, 'listening');
const issuer = `http://${HOST}:${server.address().port}`;

const provider = new Provider(issuer, {
  jwks: { keys: [signingKey()] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  findAccount,
  claims: {
    acr: null,
    auth_time: null,
    iss: null,
    sid: null,
    // org_id and org_name: Organizations (see above), in the ID token when the login asked.
    openid: ['sub', 'org_id', 'org_name'],
    profile: ['name', 'nickname', 'given_name', 'family_name', 'picture', 'updated_at'],
    email: ['email', 'email_verified'],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  conformIdTokenClaims: false,
  // The authorization code flow only, as the SDK uses.
  responseTypes: ['code'],
  // Lifetimes, seconds (API access tokens: ACCESS_TOKEN_TTL, set per resource server below).
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 60,
    Grant: 14 * 24 * 3600,
    IdToken: 3600,
    Interaction: 3600,
    RefreshToken: 14 * 24 * 3600,
    Session: 14 * 24 * 3600,
  },
  // Rich Authorization Requests (see the header): every client may ask for RAR_TYPE.
  clientDefaults: {
    grant_types: ['authorization_code'],
    id_token_signed_response_alg: 'RS256',
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    authorization_details_types: [RAR_TYPE],
  },
  extraParams: ['audience', 'organization'],
  // Organizations (see above): the access tokens of an organization's grant carry it too.
  extraTokenClaims: async (ctx, token) => {
    // At the code exchange the access token may be minted before the account is loaded.
    const code = ctx.oidc.entities?.AuthorizationCode;
    if (code) organizationClaims(code);
    return organizationClaims(token);
  },
  pkce: { required: () => true },
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
  enabledJWA: {
    clientAuthSigningAlgValues: ['RS256', 'PS256', 'ES256'],
  },
  features: {
    devInteractions: { enabled: true },
    registration: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    backchannelLogout: { enabled: true },
    revocation: { enabled: true },
    // Rich Authorization Requests (see the header): granted as asked and consented to.
    richAuthorizationRequests: {
      enabled: true,
      types: {
        [RAR_TYPE]: {
          validate: async (_ctx, detail) => {
            if (typeof detail.amount !== 'string') {
              throw new errors.InvalidAuthorizationDetails(`a ${RAR_TYPE} needs a string amount`);
            }
          },
        },
      },
      authorizationDetailsForGrantSource: async (ctx) => ctx.oidc.grant.rar,
      authorizationDetailsForAccessToken: async (_ctx, _token, source) => source?.rar,
      authorizationDetailsForIntrospection: async (_ctx, token) => token.rar,
    },
    ciba: cibaFeature,
    resourceIndicators: {
      enabled: true,
      // The authorization request's `audience` is its resource (explicit `resource` wins).
      defaultResource: async (ctx, _client, oneOf) => oneOf ?? ctx.oidc.params?.audience ?? undefined,
      // Tokens from a code or a refresh token are for the resource that was granted.
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resource) => ({
        scope: RESOURCE_SCOPES,
        audience: resource,
        accessTokenTTL: ACCESS_TOKEN_TTL,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  // Refresh tokens for clients allowed the grant, when offline_access was consented to.
  issueRefreshToken: async (_ctx, client, code) =>
    client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  // The SSRF guard stays on for everything but loopback, where the tests' back-channel
  // logout endpoints listen.
  fetch: (url, options) => {
    if (isLoopbackUrl(url)) delete options.dispatcher;
    return globalThis.fetch(url, options);
  },
});

provider.use(testHooks);
provider.use(noteOrganization);
provider.use(cibaHooks);
provider.use(async (ctx, next) => {
  const started = Date.now();
  await next();
  log(`${ctx.method} ${ctx.path} -> ${ctx.status} (${Date.now() - started} ms)`);
});

for (const event of [
  'server_error',
  'authorization.error',
  'grant.error',
  'pushed_authorization_request.error',
  'registration_create.error',
  'end_session.error',
  'backchannel.error',
  'introspection.error',
  'revocation.error',
]) {
  provider.on(event, (...eventArgs) => {
    const err = eventArgs.find((a) => a instanceof Error);
    log(`event ${event}: ${err ? `${err.name}: ${err.message}${err.error_description ? ` (${err.error_description})` : ''}` : ''}`);
  });
}
provider.on('backchannel.success', (_ctx, client, accountId, sid) => {
  log(`event backchannel.success: client ${client.clientId}, sub ${accountId}, sid ${sid}`);
});

server.on('request', provider.callback());

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}

if (args['watch-pid']) {
  const watched = Number(args['watch-pid']);
  setInterval(() => {
    try {
      process.kill(watched, 0);
    } catch (err) {
      if (err.code === 'ESRCH') {
        log(`process ${watched} is gone: stopping`);
        process.exit(0);
      }
    }
  }, 1000).unref();
}

console.log(`issuer=${issuer}`);
