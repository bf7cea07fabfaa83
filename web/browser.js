// browser.js - the FHIR data browser: search any resource type, page through
// the results, open a record, see its versions and what changed between two.
//
// Routes (the part of the URL after #):
//   /browse/Type?criteria     a search, 20 per page
//   /view/Type/id             one record
//   /history/Type/id          its versions; pick two to compare

import { call } from './api.js';
import { t } from './i18n.js';
import { diffLines, h, localTime, masked, summary } from './view.js';

const PAGE = 20;
let typesCache = null;

async function resourceTypes() {
  if (!typesCache) {
    const cap = await call('/fhir/metadata');
    typesCache = (cap.rest?.[0]?.resource || []).map((r) => r.type).sort();
  }
  return typesCache;
}

function go(route) {
  location.hash = route;
}

// The search link the server gave (next/previous) as a route of ours.
function routeOf(link) {
  const u = new URL(link, location.origin);
  const type = u.pathname.replace(/^\/fhir\//, '');
  return `/browse/${type}?${u.searchParams.toString()}`;
}

function searchForm(types, type, criteria) {
  const select = h('select', { id: 'type', 'aria-label': t('resourceType') }, types.map((ty) => h('option', { value: ty, selected: ty === type }, ty)));
  const input = h('input', { id: 'criteria', value: criteria, placeholder: t('criteriaHint'), 'aria-label': t('criteria') });
  const form = h('form', { class: 'search', onsubmit: (e) => {
    e.preventDefault();
    const q = new URLSearchParams(input.value.trim());
    if (!q.has('_count')) q.set('_count', String(PAGE));
    go(`/browse/${select.value}?${q.toString()}`);
  } }, h('label', {}, t('resourceType'), select), h('label', { class: 'grow' }, t('criteria'), input), h('button', { type: 'submit', id: 'search' }, t('search')));
  return form;
}

async function browse(main, type, query) {
  const types = await resourceTypes();
  const q = new URLSearchParams(query);
  const shown = new URLSearchParams(q);
  shown.delete('_count');
  main.replaceChildren(searchForm(types, type, shown.toString()), h('p', { class: 'muted' }, t('loading')));
  if (!q.has('_count')) q.set('_count', String(PAGE));
  const bundle = await call(`/fhir/${encodeURIComponent(type)}?${q.toString()}`);
  const rows = (bundle.entry || []).filter((e) => e.search?.mode !== 'include' && e.resource?.resourceType === type);
  const link = (rel) => (bundle.link || []).find((l) => l.relation === rel)?.url;
  const table = rows.length
    ? h('table', { id: 'results' },
      h('thead', {}, h('tr', {}, h('th', {}, t('id')), h('th', {}, t('summary')), h('th', {}, t('updated')))),
      h('tbody', {}, rows.map((e) => {
        const r = masked(e.resource);
        return h('tr', {}, h('td', {}, h('a', { href: `#/view/${type}/${r.id}` }, r.id)), h('td', {}, summary(r)), h('td', {}, localTime(r.meta?.lastUpdated)));
      })))
    : h('p', { class: 'muted' }, t('noResults'));
  const prev = link('previous') || link('prev');
  const next = link('next');
  const pager = h('div', { class: 'pager' },
    bundle.total !== undefined ? h('span', { id: 'total' }, t('total', bundle.total)) : null,
    h('button', { type: 'button', id: 'prev', disabled: !prev, onclick: () => go(routeOf(prev)) }, t('previous')),
    h('button', { type: 'button', id: 'next', disabled: !next, onclick: () => go(routeOf(next)) }, t('next')));
  main.replaceChildren(searchForm(types, type, shown.toString()), table, pager);
}

async function view(main, type, id) {
  const r = await call(`/fhir/${encodeURIComponent(type)}/${encodeURIComponent(id)}`);
  main.replaceChildren(
    h('div', { class: 'actions' },
      h('a', { href: `#/browse/${type}` }, t('back')),
      h('a', { href: `#/history/${type}/${id}`, id: 'history' }, t('history'))),
    h('h2', {}, `${type}/${id}`, h('span', { class: 'muted' }, ` · ${t('version')} ${r.meta?.versionId || ''}`)),
    h('pre', { id: 'resource' }, JSON.stringify(masked(r), null, 2)));
}

async function history(main, type, id) {
  const bundle = await call(`/fhir/${encodeURIComponent(type)}/${encodeURIComponent(id)}/_history?_count=100`);
  const versions = (bundle.entry || []).map((e) => ({
    version: e.resource?.meta?.versionId || (e.response?.etag || '').replace(/\D/g, ''),
    when: e.resource?.meta?.lastUpdated,
    deleted: !e.resource,
    resource: e.resource ? masked(e.resource) : null,
  }));
  const out = h('div', { id: 'diff' });
  const boxes = versions.map((v) => h('input', { type: 'checkbox', value: v.version, 'aria-label': `${t('version')} ${v.version}` }));
  const compare = () => {
    const picked = boxes.filter((b) => b.checked).map((b) => versions.find((v) => v.version === b.value));
    if (picked.length !== 2) {
      out.replaceChildren(h('p', { class: 'muted' }, t('pickTwo')));
      return;
    }
    const [a, b] = picked.sort((x, y) => Number(x.version) - Number(y.version));
    const text = (v) => (v.resource ? JSON.stringify(v.resource, null, 2) : '');
    const lines = diffLines(text(a), text(b)).filter((d) => d.op !== ' ');
    out.replaceChildren(h('h3', {}, t('diffTitle', a.version, b.version)),
      lines.length ? h('pre', {}, lines.map((d) => h('div', { class: d.op === '+' ? 'add' : 'del' }, `${d.op} ${d.line}`))) : h('p', {}, t('noDiff')));
  };
  main.replaceChildren(
    h('div', { class: 'actions' }, h('a', { href: `#/view/${type}/${id}` }, t('back'))),
    h('h2', {}, `${type}/${id} · ${t('history')}`),
    h('table', { id: 'versions' }, h('tbody', {}, versions.map((v, i) => h('tr', {},
      h('td', {}, boxes[i]), h('td', {}, `${t('version')} ${v.version}`), h('td', {}, localTime(v.when)), h('td', {}, v.deleted ? t('deleted') : summary(v.resource)))))),
    h('button', { type: 'button', id: 'compare', onclick: compare }, t('compare')),
    out);
}

// Render the route (without the leading '#') into main; false when it is not ours.
export async function route(main, path) {
  const [p, query = ''] = path.split('?');
  const parts = p.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'browse') {
    await browse(main, parts[1] || 'Patient', query);
    return true;
  }
  if (parts[0] === 'view' && parts.length === 3) {
    await view(main, parts[1], parts[2]);
    return true;
  }
  if (parts[0] === 'history' && parts.length === 3) {
    await history(main, parts[1], parts[2]);
    return true;
  }
  return false;
}
