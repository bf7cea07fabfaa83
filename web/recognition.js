// recognition.js - result recognition (检查检验结果互认): the doctor's view of a patient's prior
// results for the items about to be ordered, with the decision per item, and the dashboard of the
// indicators for regulators and hospital administrators.
//
// Routes (the part of the URL after #):
//   /recognize?patient=pat-0001            a patient: an id, or an 18-character resident id
//   /indicators?period=2026-11&level=city  the indicators of a month

import { call } from './api.js';
import { language, t } from './i18n.js';
import { downloadCsv, h, loadECharts, localTime, thisMonth } from './view.js';

const CATALOGUE = 'https://fhir.yujian.org.cn/CodeSystem/recognition-items';
const RESIDENT_ID = 'https://fhir.yujian.org.cn/sid/cn-resident-id';
const RETEST_REASONS = ['condition-changed', 'fast-changing', 'major-intervention', 'emergency', 'forensic', 'other', 'patient-request'];

const enc = encodeURIComponent;
const bilingual = (zh, en) => (language() === 'en' ? en || zh : zh);

async function catalogueItems() {
  const b = await call(`/fhir/CodeSystem?url=${enc(CATALOGUE)}&status=active&_sort=-_lastUpdated&_count=1`);
  const cs = b.entry?.[0]?.resource;
  const prop = (c, code) => (c.property || []).find((p) => p.code === code);
  return (cs?.concept || []).map((c) => ({
    code: c.code,
    display: c.display || c.code,
    system: prop(c, 'system')?.valueString || 'http://loinc.org',
    kind: prop(c, 'kind')?.valueCode || 'lab',
  }));
}

// The $recognizable answer as plain objects.
function readAnswer(params) {
  const out = { patient: null, items: [], unknown: [] };
  for (const p of params.parameter || []) {
    if (p.name === 'patient') out.patient = p.valueReference.reference;
    else if (p.name === 'not-in-catalogue') out.unknown.push(p.valueString);
    else if (p.name === 'item') {
      const item = { results: [] };
      for (const part of p.part) {
        if (part.name === 'code') Object.assign(item, { code: part.valueCoding.code, system: part.valueCoding.system, display: part.valueCoding.display });
        else if (part.name === 'kind') item.kind = part.valueCode;
        else if (part.name === 'window-days') item.window = part.valueInteger;
        else if (part.name === 'price') item.price = part.valueMoney.value;
        else if (part.name === 'result') {
          const r = Object.fromEntries(part.part.map((x) => [x.name, x]));
          item.results.push({
            ref: r.reference.valueReference.reference,
            reported: r.reported?.valueDateTime,
            performer: r.performer?.valueReference.display || r.performer?.valueReference.reference || '',
            value: r.value ? `${r.value.valueQuantity.value} ${r.value.valueQuantity.unit || ''}` : '',
            ok: r.recognisable.valueBoolean,
            reason: bilingual(r.reason.valueCoding.display, r['reason-en']?.valueString),
            mark: r.mark?.valueString,
          });
        }
      }
      out.items.push(item);
    }
  }
  return out;
}

function patientQuery(patient) {
  return /^\d{17}[\dXx]$/.test(patient) ? `Patient/$recognizable?identifier=${enc(`${RESIDENT_ID}|${patient.toUpperCase()}`)}` : `Patient/${enc(patient)}/$recognizable?`;
}

function resultsTable(item) {
  if (!item.results.length) return h('p', { class: 'muted' }, t('noPriorResults'));
  return h('table', { class: 'results' },
    h('thead', {}, h('tr', {}, h('th', {}, t('reported')), h('th', {}, t('performer')), h('th', {}, t('value')), h('th', {}, t('recognisable')))),
    h('tbody', {}, item.results.map((r) => h('tr', { class: r.ok ? 'ok' : 'no' },
      h('td', {}, localTime(r.reported)),
      h('td', {}, r.performer),
      h('td', {}, r.value),
      h('td', {}, r.ok ? h('span', { class: 'mark' }, `★ ${r.mark || ''}`) : '', ' ', r.ok ? t('yes') : r.reason)))));
}

// The decision on one item: recognise its newest recognisable result, or re-test with a reason.
function decisionFields(item) {
  const best = item.results.find((r) => r.ok);
  const name = `d-${item.code}`;
  const recognise = h('input', { type: 'radio', name, value: 'recognised', checked: !!best, disabled: !best });
  const retest = h('input', { type: 'radio', name, value: 'retest', checked: !best });
  const reason = h('select', { class: 'reason', 'aria-label': t('retestReason') },
    h('option', { value: '' }, t('chooseReason')), RETEST_REASONS.map((c) => h('option', { value: c }, t(`reason.${c}`))));
  const note = h('input', { class: 'note', maxlength: 200, placeholder: t('noteHint'), 'aria-label': t('note') });
  const explained = h('input', { type: 'checkbox', class: 'explained' });
  const consent = h('input', { type: 'checkbox', class: 'consent' });
  const fs = h('fieldset', { class: 'decision', 'data-code': item.code },
    h('legend', {}, t('decision')),
    h('label', { class: 'inline' }, recognise, best ? t('recogniseResult', localTime(best.reported)) : t('nothingToRecognise')),
    h('label', { class: 'inline' }, retest, t('retest')),
    reason, note,
    h('label', { class: 'inline' }, explained, t('explained')),
    h('label', { class: 'inline' }, consent, t('consent')));
  fs.decision = () => {
    const outcome = recognise.checked ? 'recognised' : 'retest';
    const part = [{ name: 'code', valueCoding: { system: item.system, code: item.code } }, { name: 'outcome', valueCode: outcome }];
    const result = outcome === 'recognised' ? best : item.results[0];
    if (result) part.push({ name: 'result', valueReference: { reference: result.ref } });
    if (outcome === 'retest' && reason.value) part.push({ name: 'reason', valueCode: reason.value });
    if (note.value.trim()) part.push({ name: 'note', valueString: note.value.trim() });
    part.push({ name: 'explained', valueBoolean: explained.checked }, { name: 'consent', valueBoolean: consent.checked });
    return { name: 'decision', part };
  };
  return fs;
}

function itemCard(item) {
  return h('section', { class: 'item', 'data-code': item.code },
    h('h3', {}, `${item.display || item.code} `, h('span', { class: 'muted' }, `${item.code} · ${t('window', item.window)} · ¥${Number(item.price).toFixed(2)}`)),
    resultsTable(item),
    item.results.length ? decisionFields(item) : null);
}

async function record(main, answer, emergency, out) {
  const decisions = [...main.querySelectorAll('fieldset.decision')].map((fs) => fs.decision());
  const body = { resourceType: 'Parameters', parameter: [...(emergency ? [{ name: 'emergency', valueBoolean: true }] : []), ...decisions] };
  let r;
  try {
    r = await call(`/fhir/${answer.patient}/$recognize`, {
      method: 'POST', headers: { 'Content-Type': 'application/fhir+json' }, body: JSON.stringify(body),
    });
  } catch (err) {
    out.replaceChildren(h('p', { id: 'refused', class: 'bad' }, err.message));
    return;
  }
  const saved = r.parameter.find((p) => p.name === 'fee-saved')?.valueMoney?.value ?? 0;
  const refs = r.parameter.filter((p) => p.name === 'decision').map((p) => p.valueReference.reference);
  out.replaceChildren(h('p', { id: 'recorded', class: 'good' }, t('recorded', refs.length, Number(saved).toFixed(2))),
    h('ul', {}, refs.map((ref) => h('li', {}, h('a', { href: `#/view/${ref}` }, ref)))));
}

async function recognize(main, query) {
  const params = new URLSearchParams(query);
  const items = await catalogueItems();
  const picked = new Set((params.get('codes') || '').split(',').filter(Boolean));
  const patient = h('input', { id: 'patient', value: params.get('patient') || '', placeholder: t('patientHint'), required: true, 'aria-label': t('patient') });
  const boxes = items.map((it) => h('label', { class: 'inline' }, h('input', { type: 'checkbox', value: it.code, checked: !picked.size || picked.has(it.code) }), `${it.display}`));
  const emergency = h('input', { type: 'checkbox', id: 'emergency', checked: params.get('emergency') === 'true' });
  const form = h('form', { class: 'search', id: 'recognize-form', onsubmit: (e) => {
    e.preventDefault();
    const codes = boxes.map((b) => b.firstChild).filter((c) => c.checked).map((c) => c.value);
    location.hash = `/recognize?${new URLSearchParams({ patient: patient.value.trim(), codes: codes.join(','), emergency: emergency.checked })}`;
  } },
  h('label', { class: 'grow' }, t('patient'), patient),
  h('div', { class: 'items' }, boxes),
  h('label', { class: 'inline' }, emergency, t('emergencyVisit')),
  h('button', { type: 'submit', id: 'find' }, t('findResults')));
  main.replaceChildren(h('h2', {}, t('recognition')), form);
  if (!params.get('patient')) return;
  const chosen = items.filter((it) => !picked.size || picked.has(it.code));
  const codes = chosen.map((it) => `${it.system}|${it.code}`).join(',');
  const answer = readAnswer(await call(`/fhir/${patientQuery(params.get('patient'))}&code=${enc(codes)}${emergency.checked ? '&emergency=true' : ''}`));
  const out = h('div', { id: 'outcome' });
  main.append(
    h('p', { class: 'muted' }, emergency.checked ? t('notBound') : t('boundNote')),
    h('div', { id: 'items' }, answer.items.map(itemCard)),
    answer.items.some((i) => i.results.length) ? h('button', { type: 'button', id: 'record', onclick: () => record(main, answer, emergency.checked, out) }, t('recordDecisions')) : null,
    out);
}

// ---- the indicators ----

const INDICATORS = ['recognition-rate', 'avoided-tests', 'fees-saved', 'retests', 'marked-province', 'marked-city', 'marked-alliance', 'eqa-labs', 'eqa-items'];

async function drawChart(el, rows) {
  const lib = await loadECharts();
  if (!lib) {
    el.replaceChildren(h('p', { class: 'muted' }, t('noChart')));
    return;
  }
  const chart = lib.init(el, null, { renderer: 'svg' });
  chart.setOption({
    animation: false,
    tooltip: { trigger: 'axis' },
    legend: { data: [t('ind.avoided-tests'), t('ind.fees-saved')] },
    grid: { left: 160, right: 40, top: 60, bottom: 50 },
    xAxis: [
      { type: 'value', name: t('ind.avoided-tests'), nameLocation: 'middle', nameGap: 24, minInterval: 1 },
      { type: 'value', name: `${t('ind.fees-saved')} (¥)`, nameLocation: 'middle', nameGap: 24 },
    ],
    yAxis: { type: 'category', data: rows.map((r) => r.name) },
    series: [
      { name: t('ind.avoided-tests'), type: 'bar', data: rows.map((r) => r['avoided-tests'] || 0) },
      { name: t('ind.fees-saved'), type: 'bar', xAxisIndex: 1, data: rows.map((r) => r['fees-saved'] || 0) },
    ],
  });
}

async function indicators(main, query) {
  const params = new URLSearchParams(query);
  const period = params.get('period') || thisMonth();
  const level = params.get('level') || 'city';
  const month = h('input', { type: 'month', id: 'period', value: period, 'aria-label': t('period') });
  const select = h('select', { id: 'level', 'aria-label': t('level') }, ['hospital', 'city', 'province'].map((l) => h('option', { value: l, selected: l === level }, t(`level.${l}`))));
  const form = h('form', { class: 'search', onsubmit: (e) => {
    e.preventDefault();
    location.hash = `/indicators?period=${month.value}&level=${select.value}`;
  } }, h('label', {}, t('period'), month), h('label', {}, t('level'), select), h('button', { type: 'submit', id: 'show' }, t('show')),
  h('button', { type: 'button', id: 'csv', onclick: () => downloadCsv(`/fhir/MeasureReport/$recognition-indicators?period=${period}&level=${level}&format=csv`, `recognition-${level}-${period}.csv`) }, t('downloadCsv')));
  main.replaceChildren(h('h2', {}, t('indicators')), form);
  const bundle = await call(`/fhir/MeasureReport/$recognition-indicators?period=${enc(period)}&level=${enc(level)}`);
  const rows = (bundle.entry || []).map((e) => {
    const m = e.resource;
    const row = { name: m.reporter.display || m.reporter.reference };
    for (const g of m.group) row[g.code.coding[0].code] = g.measureScore?.value;
    return row;
  });
  if (!rows.length) {
    main.append(h('p', { class: 'muted', id: 'no-indicators' }, t('noIndicators')));
    return;
  }
  const fmt = (code, v) => (v === undefined || v === null ? '—' : code === 'recognition-rate' ? `${(v * 100).toFixed(1)}%` : code === 'fees-saved' ? `¥${Number(v).toFixed(2)}` : String(v));
  const chart = h('div', { id: 'chart', class: 'chart' });
  main.append(h('div', { class: 'scroll' }, h('table', { id: 'indicator-table' },
    h('thead', {}, h('tr', {}, h('th', {}, t(`level.${level}`)), INDICATORS.map((c) => h('th', {}, t(`ind.${c}`))))),
    h('tbody', {}, rows.map((r) => h('tr', {}, h('td', {}, r.name), INDICATORS.map((c) => h('td', {}, fmt(c, r[c])))))))), chart);
  await drawChart(chart, rows);
}

// Render the route (without the leading '#') into main; false when it is not ours.
export async function route(main, path) {
  const [p, query = ''] = path.split('?');
  if (p === '/recognize') {
    await recognize(main, query);
    return true;
  }
  if (p === '/indicators') {
    await indicators(main, query);
    return true;
  }
  return false;
}
