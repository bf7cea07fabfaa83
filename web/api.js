// api.js - the console's session and its calls to the server.
//
// Tokens live in sessionStorage (gone with the tab). A call that answers 401
// tries the refresh token once; when that fails too, the session is over and
// onExpired runs (the shell shows the sign-in form with a notice).

import { t } from './i18n.js';

const KEY = 'yujian.session';
let onExpired = () => {};

export function whenExpired(fn) {
  onExpired = fn;
}

export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || 'null');
  } catch {
    return null;
  }
}

function keep(tokens) {
  sessionStorage.setItem(KEY, JSON.stringify({ access: tokens.access_token, refresh: tokens.refresh_token || null }));
}

export function forget() {
  sessionStorage.removeItem(KEY);
}

function postForm(path, form) {
  return fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
}

async function tokenRequest(form) {
  const res = await postForm('/auth/token', form);
  if (!res.ok) return null;
  return res.json();
}

// Sign in: { ok } or { ok: false, status, mustChange, message } (the server's bilingual reason).
export async function signIn(username, password) {
  let res;
  try {
    res = await postForm('/auth/token', { grant_type: 'password', username, password });
  } catch {
    return { ok: false, status: 0, message: t('errNetwork') };
  }
  const body = await res.json().catch(() => ({}));
  if (res.ok) {
    keep(body);
    return { ok: true };
  }
  const message = body.error_description || '';
  return { ok: false, status: res.status, mustChange: /\/auth\/password/.test(message), message };
}

// Change a password with the current one (also the way out of a one-time password).
export async function changePassword(username, password, newPassword) {
  let res;
  try {
    res = await postForm('/auth/password', { username, password, new_password: newPassword });
  } catch {
    return { ok: false, message: t('errNetwork') };
  }
  if (res.ok) return { ok: true };
  const body = await res.json().catch(() => null);
  return { ok: false, message: diagnostics(body) || t(`err${res.status}`) };
}

export async function signOut() {
  const s = session();
  forget();
  if (s?.refresh) await postForm('/auth/revoke', { token: s.refresh }).catch(() => {});
}

async function refresh() {
  const s = session();
  if (!s?.refresh) return false;
  const tokens = await tokenRequest({ grant_type: 'refresh_token', refresh_token: s.refresh });
  if (!tokens) return false;
  keep(tokens);
  return true;
}

// An error a page can show: plain words for the status, then the server's own diagnostics.
export class ApiError extends Error {
  constructor(status, details) {
    const plain = status === 0 ? t('errNetwork') : status >= 500 ? t('err5xx') : t(`err${status}`);
    super(details ? `${plain}: ${details}` : plain);
    this.status = status;
  }
}

function diagnostics(body) {
  if (body?.resourceType !== 'OperationOutcome') return '';
  return (body.issue || []).map((i) => i.diagnostics || i.details?.text || i.code).filter(Boolean).join('; ');
}

// GET (or other) a path of this server as JSON with the session's token.
export async function call(path, options = {}, retried = false) {
  const s = session();
  let res;
  try {
    res = await fetch(path, {
      ...options,
      headers: { Accept: 'application/fhir+json', ...(options.headers || {}), Authorization: `Bearer ${s?.access || ''}` },
    });
  } catch {
    throw new ApiError(0, '');
  }
  if (res.status === 401 && !retried && (await refresh())) return call(path, options, true);
  if (res.status === 401) {
    forget();
    onExpired();
    throw new ApiError(401, '');
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, diagnostics(body));
  return body;
}
