// The console's calls to /api/v1: same origin, the HttpOnly session cookie instead of a bearer
// token, and the session's CSRF token on every write (docs/console.md).

export const session = { name: '', scope: 'read', csrf: '' };

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code ? body.code : '';
  }
}

async function call(method, url, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') headers['x-csrf-token'] = session.csrf;
  const res = await fetch(url, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

export const api = (method, path, body) => call(method, `/api/v1${path}`, body);
export const enc = encodeURIComponent;

export async function loadSession() {
  try {
    Object.assign(session, await call('GET', '/console/session'));
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return false;
    throw e;
  }
}

export async function login(token) {
  Object.assign(session, await call('POST', '/console/login', { token }));
}

export async function logout() {
  await call('POST', '/console/logout');
  Object.assign(session, { name: '', scope: 'read', csrf: '' });
}

export const isAdmin = () => session.scope === 'admin';
