// app.js - the console's shell: sign-in, who is signed in, the menu of their
// role, the language switch, and the routing of #/... to the pages.

import { ApiError, call, changePassword, session, signIn, signOut, whenExpired } from './api.js';
import * as browser from './browser.js';
import * as inpatient from './inpatient.js';
import * as recognition from './recognition.js';
import { language, setLanguage, t, translate } from './i18n.js';
import { h } from './view.js';

// Pages per role (DESIGN.md §1). Every role has the data browser; the API
// decides which records each one sees. Pages of later modules join here.
const PAGES = [
  { route: '/browse/Patient', key: 'browser', roles: '*' },
  { route: '/recognize', key: 'recognition', roles: ['doctor', 'platform-admin'] },
  { route: '/indicators', key: 'indicators', roles: ['regulator', 'hospital-admin', 'platform-admin'] },
  { route: '/admission', key: 'admission', roles: ['admission', 'platform-admin'] },
  { route: '/beds', key: 'beds', roles: ['nurse', 'admission', 'hospital-admin'] },
  { route: '/day-surgery', key: 'daySurgery', roles: ['admission', 'nurse'] },
  { route: '/inpatient-indicators', key: 'inpatientIndicators', roles: ['regulator', 'hospital-admin', 'platform-admin'] },
];
// Where the data browser opens for roles that see no patients' records:
// the organisation directory (regulators see records only with break-glass).
const DIRECTORY_ROLES = ['regulator', 'hospital-admin', 'waste'];

function routeFor(page, role) {
  return page.key === 'browser' && DIRECTORY_ROLES.includes(role) ? '/browse/Organization' : page.route;
}

const main = document.getElementById('main');
const banner = document.getElementById('banner');
let me = null;

// The banner: an error (default) or, with kind 'info', good news.
function notice(text, kind = 'error') {
  banner.textContent = text;
  banner.className = kind;
  banner.hidden = !text;
}

function signedOutHeader() {
  me = null;
  document.getElementById('nav').hidden = true;
  document.getElementById('who').hidden = true;
  document.getElementById('logout').hidden = true;
}

function showLogin(message, kind) {
  signedOutHeader();
  notice(message || '', kind);
  const user = h('input', { id: 'username', autocomplete: 'username', required: true });
  const pass = h('input', { id: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h('form', { class: 'login', onsubmit: async (e) => {
    e.preventDefault();
    notice('');
    const r = await signIn(user.value.trim(), pass.value);
    if (r.ok) await start();
    else if (r.mustChange) showChangePassword(user.value.trim(), t('mustChange'));
    // 429: the account's lock-out (an OAuth error with its reason) or the address's request rate
    else if (r.status === 429) notice(r.message ? t('locked') : t('err429'));
    else notice(r.status === 0 ? r.message : t('badLogin'));
  } },
  h('h2', {}, t('loginTitle')),
  h('label', {}, t('username'), user),
  h('label', {}, t('password'), pass),
  h('button', { type: 'submit', id: 'signin' }, t('login')),
  h('a', { href: '#', id: 'to-change', onclick: (e) => {
    e.preventDefault();
    showChangePassword(user.value.trim());
  } }, t('changePassword')));
  main.replaceChildren(form);
  user.focus();
}

// Change a password with the current one: after a one-time password, or whenever the user wants.
function showChangePassword(username, message) {
  signedOutHeader();
  notice(message || '', 'info');
  const user = h('input', { id: 'cp-username', autocomplete: 'username', required: true, value: username || '' });
  const old = h('input', { id: 'cp-password', type: 'password', autocomplete: 'current-password', required: true });
  const fresh = h('input', { id: 'cp-new', type: 'password', autocomplete: 'new-password', required: true });
  const again = h('input', { id: 'cp-again', type: 'password', autocomplete: 'new-password', required: true });
  const form = h('form', { class: 'login', onsubmit: async (e) => {
    e.preventDefault();
    if (fresh.value !== again.value) {
      notice(t('passwordsDiffer'));
      return;
    }
    const r = await changePassword(user.value.trim(), old.value, fresh.value);
    if (r.ok) showLogin(t('passwordChanged'), 'info');
    else notice(r.message);
  } },
  h('h2', {}, t('changePassword')),
  h('label', {}, t('username'), user),
  h('label', {}, t('password'), old),
  h('label', {}, t('newPassword'), fresh),
  h('label', {}, t('repeatPassword'), again),
  h('button', { type: 'submit', id: 'change' }, t('changePassword')));
  main.replaceChildren(form);
  (username ? old : user).focus();
}

function showShell() {
  const role = me.role;
  const pages = PAGES.filter((p) => p.roles === '*' || p.roles.includes(role));
  const nav = document.getElementById('nav');
  nav.replaceChildren(...pages.map((p) => h('a', { href: `#${routeFor(p, role)}` }, t(p.key))));
  nav.hidden = false;
  const who = document.getElementById('who');
  who.textContent = `${me.user} · ${language() === 'en' ? me.roleName.en : me.roleName.zh}`;
  who.hidden = false;
  document.getElementById('logout').hidden = false;
  // the first page without a hashchange event: start() renders it once
  if (!location.hash || location.hash === '#') history.replaceState(null, '', `#${routeFor(pages[0], role)}`);
}

async function render() {
  if (!me) return;
  const start = routeFor(PAGES[0], me.role);
  const path = location.hash.replace(/^#/, '') || start;
  notice('');
  try {
    if (!(await browser.route(main, path)) && !(await recognition.route(main, path)) && !(await inpatient.route(main, path))) location.hash = start;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return; // the sign-in form is showing
    notice(err instanceof ApiError ? err.message : String(err));
  }
}

async function start() {
  if (!session()) {
    showLogin();
    return;
  }
  try {
    me = await call('/auth/me');
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) showLogin(err.message);
    return;
  }
  showShell();
  await render();
}

whenExpired(() => showLogin(t('sessionExpired')));
window.addEventListener('hashchange', render);
document.getElementById('lang').addEventListener('click', async () => {
  setLanguage(language() === 'en' ? 'zh' : 'en');
  translate(document);
  if (me) {
    showShell();
    await render();
  } else {
    showLogin();
  }
});
document.getElementById('logout').addEventListener('click', async () => {
  await signOut();
  history.replaceState(null, '', location.pathname);
  showLogin();
});
setLanguage(language());
translate(document);
start();
