// inpatient.js - the inpatient pages (docs/inpatient.md): the admission centre's queue with
// pre-admission and admission into a bed, the ward bed board, the day-surgery schedule, and the
// inpatient indicators.
//
// Routes (the part of the URL after #):
//   /admission?page=1                         the queue of admission notices
//   /beds?ward=ward-zzu1-0                     the bed board of a ward (all wards without one)
//   /day-surgery                              day-surgery notices and stays
//   /inpatient-indicators?period=2026-11&level=ward

import { call } from './api.js';
import { t } from './i18n.js';
import { downloadCsv, h, loadECharts, localTime, thisMonth } from './view.js';

const enc = encodeURIComponent;
const PAGE = 10;

// A Parameters answer's parts as {name: value} (the first of each name), and the lists of a name.
function parts(list) {
  const out = {};
  for (const p of list || []) {
    if (p.name in out) continue;
    out[p.name] = p.part ?? p.valueReference ?? p.valueCode ?? p.valueString ?? p.valueInteger ?? p.valueBoolean
      ?? p.valueDateTime ?? p.valueInstant ?? p.valueCodeableConcept;
  }
  return out;
}
const all = (list, name) => (list || []).filter((p) => p.name === name).map((p) => p.part);
const refText = (r) => (r ? r.display || r.reference.split('/')[1] : '');
const ccText = (cc) => (cc ? cc.text || (cc.coding || []).map((c) => c.display || c.code).join(', ') : '');

// POST an operation with Parameters made from {name: value}.
function operate(path, values) {
  const parameter = Object.entries(values).filter(([, v]) => v !== undefined && v !== '').map(([name, v]) => (
    typeof v === 'boolean' ? { name, valueBoolean: v }
      : typeof v === 'number' ? { name, valueInteger: v }
        : /^[A-Z][A-Za-z]+\/[A-Za-z0-9.-]+$/.test(v) ? { name, valueReference: { reference: v } } : { name, valueString: v }));
  return call(`/fhir/${path}`, {
    method: 'POST', headers: { 'Content-Type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Parameters', ...(parameter.length ? { parameter } : {}) }),
  });
}

// Display names of references, read in one search per type.
async function names(refs) {
  const byType = {};
  for (const r of refs.filter(Boolean)) (byType[r.split('/')[0]] ||= new Set()).add(r.split('/')[1]);
  const out = {};
  await Promise.all(Object.entries(byType).map(async ([type, ids]) => {
    const b = await call(`/fhir/${type}?_id=${[...ids].map(enc).join(',')}&_count=100&_elements=name`).catch(() => null);
    for (const e of b?.entry || []) {
      const n = e.resource.name;
      out[`${type}/${e.resource.id}`] = typeof n === 'string' ? n : n?.[0]?.text || `${n?.[0]?.family || ''}${(n?.[0]?.given || []).join('')}`;
    }
  }));
  return out;
}

// An action of a page: run fn; then the good news in the banner and the page drawn again
// (refresh), or the refusal shown by failed(message).
function actor(refresh, failed) {
  return async (fn, message) => {
    try {
      await fn();
    } catch (err) {
      failed(err.message);
      return;
    }
    const banner = document.getElementById('banner');
    banner.textContent = message;
    banner.className = 'info';
    banner.hidden = false;
    await refresh();
  };
}

// ---- the admission centre ----

function preAdmissionCell(entry) {
  const pa = entry['pre-admission'];
  if (!pa) return '';
  const p = parts(pa);
  const items = all(pa, 'item').map((i) => parts(i));
  return h('span', { class: p.state === 'open' ? '' : 'bad' },
    `${t(`preadm.${p.state}`)} · ${t('deadline')} ${localTime(p.deadline)} · `,
    items.map((i) => h('span', { class: i.done ? 'good' : 'muted', title: i.name }, `${i.done ? '✓' : '○'}${i.name} `)));
}

// The actions on one notice: pre-admission, its items, admission into a bed, cancellation.
function noticeActions(entry, refresh) {
  const request = entry.request.reference;
  const panel = h('div', { class: 'panel' });
  const act = actor(refresh, (message) => panel.replaceChildren(h('p', { class: 'bad' }, message)));
  const admitPanel = async () => {
    const q = `department=${enc(entry.department.reference)}&patient=${enc(entry.patient.reference)}&count=5`;
    const found = await call(`/fhir/Location/$find-bed?${q}`);
    const cands = all(found.parameter, 'candidate').map((c) => parts(c));
    if (!cands.length) {
      panel.replaceChildren(h('p', { class: 'bad' }, t('noBed')));
      return;
    }
    const radios = cands.map((c, i) => h('label', { class: 'inline' }, h('input', { type: 'radio', name: 'bed', value: c.bed.reference, checked: i === 0 }),
      `${c.bed.display} · ${c.ward.display} · `, h('span', { class: c.fit === 'own' ? 'good' : 'borrow' }, c.reason)));
    panel.replaceChildren(h('div', { class: 'candidates' }, radios), h('button', { type: 'button', class: 'confirm-admit', onclick: () => act(
      () => operate('Encounter/$admit', { request, bed: panel.querySelector('input[name=bed]:checked').value }), t('admitted')) }, t('confirmAdmit')));
  };
  const buttons = [h('button', { type: 'button', class: 'admit', onclick: () => admitPanel().catch((e) => panel.replaceChildren(h('p', { class: 'bad' }, e.message))) }, t('admit'))];
  const pa = entry['pre-admission'];
  if (!pa && entry.category === 'admission')
    buttons.push(h('button', { type: 'button', class: 'pre-admit', onclick: () => act(() => operate(`${request}/$pre-admit`, { 'diagnosis-confirmed': true, stable: true }), t('preAdmitted')) }, t('preAdmit')));
  if (pa) {
    const encounter = parts(pa).encounter.reference;
    for (const item of all(pa, 'item').map((i) => parts(i)).filter((i) => !i.done)) {
      const asa = item.code === 'anaesthesia' ? h('select', { class: 'asa', 'aria-label': 'ASA' }, [1, 2, 3, 4].map((n) => h('option', { value: n }, `ASA ${n}`))) : null;
      buttons.push(h('span', { class: 'inline' }, asa, h('button', { type: 'button', class: `item-${item.code}`, onclick: () => act(
        () => operate(`${encounter}/$pre-admission-item`, { item: item.code, asa: asa ? Number(asa.value) : undefined }), t('itemDone')) }, `${item.name} ✓`)));
    }
  }
  const reason = h('input', { class: 'reason', placeholder: t('cancelReason'), 'aria-label': t('cancelReason') });
  buttons.push(reason, h('button', { type: 'button', class: 'cancel', onclick: () => act(() => operate(`${request}/$cancel-admission`, { reason: reason.value }), t('cancelled')) }, t('cancelAdmission')));
  return h('div', {}, h('div', { class: 'actions' }, buttons), panel);
}

async function admission(main, query) {
  const page = Number(new URLSearchParams(query).get('page') || 1);
  const refresh = () => admission(main, query);
  const q = await call(`/fhir/ServiceRequest/$admission-queue?count=${PAGE}&page=${page}`);
  const head = parts(q.parameter);
  const entries = all(q.parameter, 'entry').map((e) => parts(e));
  const shown = await names(entries.flatMap((e) => [e.patient?.reference, e.department?.reference]));
  const rows = entries.map((e) => h('tr', { class: 'notice', 'data-request': e.request.reference },
    h('td', {}, h('span', { class: `priority ${e.priority}` }, t(`priority.${e.priority}`))),
    h('td', {}, shown[e.patient?.reference] || refText(e.patient), e.insurance?.display ? h('div', { class: 'muted insurance' }, e.insurance.display) : ''),
    h('td', {}, shown[e.department?.reference] || refText(e.department)),
    h('td', {}, t(`category.${e.category}`), e.procedure ? ` · ${ccText(e.procedure)}` : ''),
    h('td', {}, ccText(e.diagnosis)),
    h('td', {}, t('hours', e['waiting-hours'] ?? 0)),
    h('td', {}, e.planned ? localTime(e.planned) : ''),
    h('td', {}, preAdmissionCell(e), noticeActions(e, refresh))));
  main.replaceChildren(h('h2', {}, t('admission')), h('p', { class: 'muted' }, t('total', head.total)),
    entries.length ? h('div', { class: 'scroll' }, h('table', { id: 'queue' },
      h('thead', {}, h('tr', {}, ['priority', 'patient', 'department', 'category', 'diagnosis', 'waiting', 'planned', 'preAdmission'].map((k) => h('th', {}, t(k))))),
      h('tbody', {}, rows))) : h('p', { class: 'muted', id: 'empty-queue' }, t('emptyQueue')),
    h('div', { class: 'pager' },
      page > 1 ? h('a', { href: `#/admission?page=${page - 1}` }, t('previous')) : null,
      page < head.pages ? h('a', { href: `#/admission?page=${page + 1}` }, t('next')) : null));
}

// ---- the bed board ----

const BOARD_MAX = 200; // beds shown at once: more, and the board shows one ward
const STATUSES = ['free', 'occupied', 'reserved', 'cleaning', 'blocked', 'isolation', 'inactive'];

// how a stay ends (http://terminology.hl7.org/CodeSystem/discharge-disposition): home first
const DISPOSITIONS = ['home', 'other-hcf', 'aadvice', 'exp', 'oth'];
const dispositionSelect = (attrs) => h('select', { ...attrs, 'aria-label': t('disposition') }, DISPOSITIONS.map((d) => h('option', { value: d }, t(`disposition.${d}`))));

function bedActions(bed, freeBeds, refresh) {
  const act = actor(refresh, (message) => { document.getElementById('bed-error').textContent = message; });
  const ref = bed.bed.reference;
  const out = [h('strong', {}, `${bed.bed.display} · ${t(`bed.${bed.status}`)}`), bed.patient ? ` · ${refText(bed.patient)}` : ''];
  if (bed.status === 'cleaning')
    out.push(h('button', { type: 'button', id: 'cleaned', onclick: () => act(() => operate(`${ref}/$cleaned`, {}), t('bedCleaned')) }, t('markCleaned')));
  if (bed.status === 'free') {
    // admit a waiting patient into this bed: the notices of the queue
    const waiting = h('select', { id: 'assign-request', 'aria-label': t('waitingPatient') }, h('option', { value: '' }, t('loading')));
    call('/fhir/ServiceRequest/$admission-queue?count=50').then(async (q) => {
      const entries = all(q.parameter, 'entry').map((e) => parts(e));
      const shown = await names(entries.map((e) => e.patient?.reference));
      waiting.replaceChildren(...entries.map((e) => h('option', { value: e.request.reference },
        `${shown[e.patient?.reference] || refText(e.patient)} · ${t(`priority.${e.priority}`)} · ${ccText(e.diagnosis) || ccText(e.procedure)}`)));
    }).catch((err) => { document.getElementById('bed-error').textContent = err.message; });
    out.push(waiting, h('button', { type: 'button', id: 'assign', onclick: () => act(() => operate('Encounter/$admit', { request: waiting.value, bed: ref }), t('admitted')) }, t('assignBed')));
  }
  if (bed.status === 'free' || bed.status === 'cleaning') {
    const reason = h('input', { id: 'block-reason', placeholder: t('blockReason'), 'aria-label': t('blockReason') });
    out.push(reason, h('button', { type: 'button', id: 'block', onclick: () => act(() => operate(`${ref}/$block`, { reason: reason.value }), t('bedBlocked')) }, t('blockBed')));
  }
  if (bed.status === 'blocked' || bed.status === 'isolation')
    out.push(h('button', { type: 'button', id: 'unblock', onclick: () => act(() => operate(`${ref}/$unblock`, {}), t('bedUnblocked')) }, t('unblockBed')));
  if (bed.status === 'occupied' && bed.encounter) {
    const target = h('select', { id: 'transfer-to', 'aria-label': t('transferTo') }, freeBeds.map((b) => h('option', { value: b.bed.reference }, `${b.ward} ${b.bed.display}`)));
    const disposition = dispositionSelect({ id: 'discharge-disposition' });
    out.push(target, h('button', { type: 'button', id: 'transfer', onclick: () => act(() => operate(`${bed.encounter.reference}/$transfer`, { bed: target.value }), t('transferred')) }, t('transfer')),
      disposition, h('button', { type: 'button', id: 'discharge', onclick: () => act(() => operate(`${bed.encounter.reference}/$discharge`, { disposition: disposition.value }), t('discharged')) }, t('discharge')));
  }
  return h('div', { class: 'actions', id: 'bed-actions' }, out, h('span', { id: 'bed-error', class: 'bad' }));
}

async function beds(main, query) {
  let chosen = new URLSearchParams(query).get('ward');
  const refresh = () => beds(main, query);
  // the wards alone first: a large hospital is shown one ward at a time
  const wardList = all((await call('/fhir/Location/$bed-board?beds=false')).parameter, 'ward').map((w) => parts(w));
  if (!chosen && wardList.reduce((n, w) => n + (w.beds || 0), 0) > BOARD_MAX && wardList.length)
    chosen = wardList[0].ward.reference.split('/')[1];
  const board = await call(`/fhir/Location/$bed-board${chosen ? `?ward=${enc(`Location/${chosen}`)}` : ''}`);
  const wards = all(board.parameter, 'ward').map((w) => ({ ...parts(w), beds: all(w, 'bed').map((b) => parts(b)) }));
  const freeBeds = wards.flatMap((w) => w.beds.filter((b) => b.status === 'free').map((b) => ({ ...b, ward: w.ward.display })));
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  for (const w of wards) for (const b of w.beds) counts[b.status]++;
  const actions = h('div', { id: 'bed-panel' }, h('p', { class: 'muted' }, t('pickBed')));
  const select = h('select', { id: 'ward', 'aria-label': t('ward'), onchange: () => { location.hash = `/beds${select.value ? `?ward=${select.value}` : ''}`; } },
    h('option', { value: '' }, t('allWards')));
  for (const w of wardList)
    select.append(h('option', { value: w.ward.reference.split('/')[1], selected: w.ward.reference === `Location/${chosen}` }, w.ward.display));
  main.replaceChildren(h('h2', {}, t('beds')), h('form', { class: 'search' }, h('label', {}, t('ward'), select)),
    h('div', { class: 'legend' }, STATUSES.filter((s) => counts[s]).map((s) => h('span', { class: `tile-key ${s}` }, `${t(`bed.${s}`)} ${counts[s]}`))),
    ...wards.map((w) => h('section', { class: 'ward' },
      h('h3', {}, w.ward.display, w.floor !== undefined ? h('span', { class: 'muted' }, ` · ${t('floor', w.floor)}`) : ''),
      h('div', { class: 'grid' }, w.beds.map((b) => h('button', {
        type: 'button', class: `tile ${b.status}`, 'data-bed': b.bed.reference, 'data-status': b.status,
        onclick: () => actions.replaceChildren(bedActions(b, freeBeds, refresh)),
      }, h('span', { class: 'bed-name' }, b.bed.display), h('span', { class: 'who' }, b.patient ? refText(b.patient) : t(`bed.${b.status}`)),
      b.borrowed ? h('span', { class: 'badge', title: t('borrowedFrom') }, t('borrowed')) : null))))),
    actions);
}

// ---- day surgery ----

async function daySurgery(main, query) {
  const params = new URLSearchParams(query);
  const page = Number(params.get('page') || 1);
  const refresh = () => daySurgery(main, query);
  const q = await call(`/fhir/ServiceRequest/$admission-queue?category=day-surgery&count=${PAGE}&page=${page}`);
  const head = parts(q.parameter);
  const entries = all(q.parameter, 'entry').map((e) => parts(e));
  // the stays a page at a time, by the server's own next link (kept in the route)
  const staysAt = params.get('stays') || `/fhir/Encounter?class=${enc('http://terminology.hl7.org/CodeSystem/v3-ActCode|SS')}&status=in-progress&_count=${PAGE}`;
  const stays = await call(staysAt);
  const nextStays = (stays.link || []).find((l) => l.relation === 'next')?.url;
  const shown = await names([...entries.map((e) => e.patient?.reference), ...(stays.entry || []).map((e) => e.resource.subject?.reference)]);
  const error = h('p', { class: 'bad', id: 'day-error' });
  const act = actor(refresh, (message) => { error.textContent = message; });
  const bookCell = (e) => {
    if (e.planned) return h('span', { class: 'good' }, `${t('booked')} ${localTime(e.planned)}`);
    const date = h('input', { type: 'datetime-local', class: 'date', 'aria-label': t('planned') });
    const asa = h('select', { class: 'asa', 'aria-label': 'ASA' }, [1, 2, 3].map((n) => h('option', { value: n }, `ASA ${n}`)));
    const escort = h('input', { type: 'checkbox', class: 'escort' });
    return h('span', { class: 'inline' }, date, asa, h('label', { class: 'inline' }, escort, t('escort')),
      h('button', { type: 'button', class: 'book', onclick: () => act(() => operate(`${e.request.reference}/$book-day-surgery`, {
        date: date.value ? new Date(date.value).toISOString() : '', asa: Number(asa.value), escort: escort.checked }), t('bookedOk')) }, t('book')));
  };
  const stayRows = (stays.entry || []).map((x) => {
    const s = x.resource;
    const hours = (Date.now() - Date.parse(s.period?.start || Date.now())) / 3600000;
    const pads = h('select', { class: 'pads', 'aria-label': 'PADS' }, [10, 9, 8, 7].map((n) => h('option', { value: n }, `PADS ${n}`)));
    const disposition = dispositionSelect({ class: 'disposition' });
    return h('tr', { class: hours > 24 ? 'overstay' : '' },
      h('td', {}, shown[s.subject?.reference] || refText(s.subject)),
      h('td', {}, localTime(s.period?.start)),
      h('td', {}, t('hours', Math.floor(hours)), hours > 24 ? h('span', { class: 'bad' }, ` ${t('overstay')}`) : ''),
      h('td', {}, pads, disposition, h('button', { type: 'button', class: 'ds-discharge', onclick: () => act(() => operate(`Encounter/${s.id}/$discharge`, { pads: Number(pads.value), disposition: disposition.value }), t('discharged')) }, t('discharge')),
        h('button', { type: 'button', class: 'convert', onclick: () => act(() => operate(`Encounter/${s.id}/$convert-to-inpatient`, {}), t('convertedOk')) }, t('convert'))));
  });
  main.replaceChildren(h('h2', {}, t('daySurgery')), error,
    h('h3', {}, t('dayNotices')),
    entries.length ? h('table', { id: 'day-notices' }, h('tbody', {}, entries.map((e) => h('tr', { 'data-request': e.request.reference },
      h('td', {}, shown[e.patient?.reference] || refText(e.patient)), h('td', {}, ccText(e.procedure)), h('td', {}, bookCell(e)))))) : h('p', { class: 'muted' }, t('emptyQueue')),
    h('h3', {}, t('dayStays')),
    stayRows.length ? h('table', { id: 'day-stays' }, h('tbody', {}, stayRows)) : h('p', { class: 'muted' }, t('noStays')),
    h('div', { class: 'pager' },
      page > 1 ? h('a', { href: `#/day-surgery?page=${page - 1}` }, t('previous')) : null,
      page < head.pages ? h('a', { href: `#/day-surgery?page=${page + 1}` }, t('next')) : null,
      params.get('stays') ? h('a', { href: '#/day-surgery' }, t('firstStays')) : null,
      nextStays ? h('a', { href: `#/day-surgery?page=${page}&stays=${enc(new URL(nextStays, location.origin).pathname + new URL(nextStays, location.origin).search)}` }, t('moreStays')) : null));
}

// ---- indicators ----

const FIGURES = ['occupancy', 'admissions', 'admission-wait-minutes', 'preop-minutes', 'average-stay-minutes', 'borrowed-beds', 'pre-admission-conversion', 'day-surgery-share',
  'cancellations', 'overstays', 'day-surgery-readmissions', 'day-surgery-same-day-cancellations', 'deaths', 'self-discharges'];
const RATIOS = ['occupancy', 'borrowed-beds', 'pre-admission-conversion', 'day-surgery-share', 'day-surgery-readmissions', 'deaths', 'self-discharges'];

function figure(code, g) {
  if (!g) return '—';
  const v = g.measureScore?.value;
  if (RATIOS.includes(code)) return v === undefined ? '—' : `${(v * 100).toFixed(1)}%`;
  if (code === 'admission-wait-minutes') return v === undefined ? '—' : t('hours', (v / 60).toFixed(1));
  if (code === 'preop-minutes' || code === 'average-stay-minutes') return v === undefined ? '—' : t('days', (v / 1440).toFixed(1));
  return String(v ?? 0);
}

async function indicators(main, query) {
  const params = new URLSearchParams(query);
  const period = params.get('period') || thisMonth();
  const level = params.get('level') || 'ward';
  const month = h('input', { type: 'month', id: 'period', value: period, 'aria-label': t('period') });
  const select = h('select', { id: 'level', 'aria-label': t('level') }, ['ward', 'hospital', 'city'].map((l) => h('option', { value: l, selected: l === level }, t(`level.${l}`))));
  const path = `/fhir/MeasureReport/$inpatient-indicators?period=${enc(period)}&level=${enc(level)}`;
  main.replaceChildren(h('h2', {}, t('inpatientIndicators')), h('form', { class: 'search', onsubmit: (e) => {
    e.preventDefault();
    location.hash = `/inpatient-indicators?period=${month.value}&level=${select.value}`;
  } }, h('label', {}, t('period'), month), h('label', {}, t('level'), select), h('button', { type: 'submit', id: 'show' }, t('show')),
  h('button', { type: 'button', id: 'csv', onclick: () => downloadCsv(`${path}&format=csv`, `inpatient-${level}-${period}.csv`) }, t('downloadCsv'))));
  const bundle = await call(path);
  const rows = (bundle.entry || []).map((e) => ({
    name: e.resource.reporter.display || e.resource.reporter.reference,
    g: Object.fromEntries(e.resource.group.map((g) => [g.code.coding[0].code, g])),
  }));
  if (!rows.length) {
    main.append(h('p', { class: 'muted', id: 'no-indicators' }, t('noIndicators')));
    return;
  }
  const chart = h('div', { id: 'chart', class: 'chart' });
  main.append(h('div', { class: 'scroll' }, h('table', { id: 'inpatient-table' },
    h('thead', {}, h('tr', {}, h('th', {}, t(`level.${level}`)), FIGURES.map((c) => h('th', {}, t(`inp.${c}`))))),
    h('tbody', {}, rows.map((r) => h('tr', {}, h('td', {}, r.name), FIGURES.map((c) => h('td', {}, figure(c, r.g[c])))))))), chart);
  const lib = await loadECharts();
  if (!lib) {
    chart.replaceChildren(h('p', { class: 'muted' }, t('noChart')));
    return;
  }
  lib.init(chart, null, { renderer: 'svg' }).setOption({
    animation: false, tooltip: { trigger: 'axis' }, legend: { data: RATIOS.map((c) => t(`inp.${c}`)) },
    grid: { left: 140, right: 30, top: 60, bottom: 40 },
    xAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
    yAxis: { type: 'category', data: rows.map((r) => r.name) },
    series: RATIOS.map((c) => ({ name: t(`inp.${c}`), type: 'bar', data: rows.map((r) => Math.round((r.g[c]?.measureScore?.value || 0) * 1000) / 10) })),
  });
}

// Render the route (without the leading '#') into main; false when it is not ours.
export async function route(main, path) {
  const [p, query = ''] = path.split('?');
  const pages = { '/admission': admission, '/beds': beds, '/day-surgery': daySurgery, '/inpatient-indicators': indicators };
  if (!pages[p]) return false;
  await pages[p](main, query);
  return true;
}

