// How the page talks to azemu: its control API (no token) and ARM (with a token the page
// gets from azemu's own token service, as the default client).

/** An error with ARM's code and message. */
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || (typeof body === 'string' ? body : `HTTP ${status}`));
    this.status = status;
    this.code = e.code || String(status);
  }
}

async function decode(r) {
  const text = await r.text();
  let body = text;
  try { body = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!r.ok) throw new ApiError(r.status, body);
  return body;
}

/** GET or write under /_azemu/… (azemu's control API: loopback, no token). */
export async function control(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['content-type'] = 'application/json';
  }
  return decode(await fetch(path, init));
}

export const get = (path) => control('GET', path);

const tokens = new Map();

/** A bearer token for ARM in `tenant`, as the default client (client credentials). */
async function token(tenant, clientId) {
  const cached = tokens.get(tenant);
  if (cached && cached.until > Date.now()) return cached.token;
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: 'azemu-dashboard',
    scope: `${location.origin}/.default`,
  });
  const r = await fetch(`/${tenant}/oauth2/v2.0/token`, {
    method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  const body = await r.json();
  if (!r.ok) throw new ApiError(r.status, { error: { code: body.error, message: body.error_description } });
  tokens.set(tenant, { token: body.access_token, until: Date.now() + 30 * 60 * 1000 });
  return body.access_token;
}

/** One ARM call; resolves to {status, headers, body}. */
export async function arm(method, path, { tenant, clientId, body, apiVersion }) {
  const t = await token(tenant, clientId);
  const sep = path.includes('?') ? '&' : '?';
  const r = await fetch(`${path}${sep}api-version=${apiVersion}`, {
    method,
    headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, headers: r.headers, body: await decode(r) };
}

/**
 * Follows a long-running operation as a client does: polls its Azure-AsyncOperation (or
 * Location) URL until it ends; `progress` hears each status. Resolves to the final status.
 */
export async function follow(resp, { tenant, clientId, progress }) {
  const url = resp.headers.get('azure-asyncoperation') || resp.headers.get('location');
  if (!url) return { status: 'Succeeded' };
  const t = await token(tenant, clientId);
  for (let i = 0; i < 600; i++) {
    const r = await fetch(url, { headers: { authorization: `Bearer ${t}` } });
    const body = await decode(r);
    const status = (body && body.status) || (r.status === 202 ? 'InProgress' : 'Succeeded');
    if (progress) progress(status, body);
    if (!['InProgress', 'Running', 'Accepted', 'Updating'].includes(status) && r.status !== 202) return { ...(body || {}), status };
    const wait = Number(r.headers.get('retry-after') || '0');
    await new Promise((ok) => setTimeout(ok, Math.max(250, Math.min(wait, 5) * 1000)));
  }
  throw new Error('The operation did not end.');
}

/**
 * Subscribes to azemu's event stream. `on` gets (kind, data) for journal, event, operations,
 * reset; `state` hears true/false as the connection comes and goes.
 */
export function stream(from, on, state) {
  const es = new EventSource(`/_azemu/ui/stream?journal=${from.journal}&events=${from.events}`);
  for (const kind of ['journal', 'event', 'operations', 'reset', 'hello']) {
    es.addEventListener(kind, (m) => {
      let data = null;
      try { data = JSON.parse(m.data); } catch { /* keep null */ }
      on(kind, data);
    });
  }
  es.onopen = () => state(true);
  es.onerror = () => state(false);
  return es;
}
