// app.js - the console's shell: sign-in, who is signed in, the menu of their
// role, the language switch, and the routing of #/... to the pages.

import { ApiError, call, session, signIn, signOut, whenExpired } from './api.js';
import * as browser from './browser.js';
import { language, setLanguage, t, translate } from './i18n.js';
import { h } from './view.js';

// Pages per role (DESIGN.md §1). Every role has the data browser; the API
// decides which records each one sees. Pages of later modules join here.
const PAGES = [{ route: '/browse/Patient', key: 'browser', roles: '*' }];
// Where the data browser opens for roles that see no patients' records:
// the organisation directory (regulators see records only with break-glass).
const DIRECTORY_ROLES = ['regulator', 'hospital-admin', 'waste'];

function routeFor(page, role) {
  return page.key === 'browser' && DIRECTORY_ROLES.includes(role) ? '/browse/Organization' : page.route;
}

const main = document.getElementById('main');
const banner = document.getElementById('banner');
let me = null;

function notice(text) {
  banner.textContent = text;
  banner.hidden = !text;
}

function showLogin(message) {
  me = null;
  document.getElementById('nav').hidden = true;
  document.getElementById('who').hidden = true;
  document.getElementById('logout').hidden = true;
  notice(message || '');
  const user = h('input', { id: 'username', autocomplete: 'username', required: true });
  const pass = h('input', { id: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h('form', { class: 'login', onsubmit: async (e) => {
    e.preventDefault();
    notice('');
    if (await signIn(user.value.trim(), pass.value)) {
      await start();
    } else {
      notice(t('badLogin'));
    }
  } },
  h('h2', {}, t('loginTitle')),
  h('label', {}, t('username'), user),
  h('label', {}, t('password'), pass),
  h('button', { type: 'submit', id: 'signin' }, t('login')));
  main.replaceChildren(form);
  user.focus();
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
    if (!(await browser.route(main, path))) location.hash = start;
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
