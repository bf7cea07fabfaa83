// Result recognition (DOMAIN.md §1) through the FHIR API: $recognizable shows a doctor the prior
// results they may recognise and why; $recognize records their decisions (audited, all-or-nothing).
// The catalogue, the laboratories' EQA and the alliance are data (a CodeSystem, Organization
// extensions), written here as any client would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, http, tempDir, diagnostics, startWithUsers } from './helpers.mjs';

const EXT = 'https://fhir.yujian.org.cn/StructureDefinition/';
const CATALOGUE = 'https://fhir.yujian.org.cn/CodeSystem/recognition-items';
const CUSTODIAN = 'https://fhir.yujian.org.cn/CodeSystem/custodian';
const DIVISION = 'urn:oid:2.16.156.10011.0.9.2.1';
const LOINC = 'http://loinc.org';
const day = 86400000;
const iso = (ms) => new Date(ms).toISOString();
const dateOnly = (ms) => iso(ms).slice(0, 10);
const now = Date.now();

let srv;
let tok = {};
const as = (name) => ({ Authorization: `Bearer ${tok[name]}` });
const users = [
  ['docb', 'doctor', ['--org', 'Organization/hb', '--subject', 'Practitioner/pb']], // Zhengzhou, alliance
  ['docc', 'doctor', ['--org', 'Organization/hc', '--subject', 'Practitioner/pc']], // Zhoukou
  ['docx', 'doctor', ['--org', 'Organization/hx', '--subject', 'Practitioner/px']], // not treating P
  ['nurseb', 'nurse', ['--org', 'Organization/hb']],
  ['admb', 'hospital-admin', ['--org', 'Organization/hb']],
  ['regzz', 'regulator', ['--org', 'Organization/hc-410100']],
  ['regzk', 'regulator', ['--org', 'Organization/hc-411600']],
  ['res', 'resident', ['--subject', 'Patient/P']],
  ['his', 'system', []], // a HIS interface of no one hospital: the charge names its hospital
];

const eqa = (code, start, end, result) => ({
  url: `${EXT}eqa`,
  extension: [
    { url: 'item', valueCoding: { system: LOINC, code } },
    { url: 'period', valuePeriod: { start, end } },
    { url: 'result', valueCode: result },
  ],
});
const yearRound = (code, result = 'pass') => eqa(code, dateOnly(now - 300 * day), dateOnly(now + 300 * day), result);
const item = (code, kind, scope, windowDays, priceFen, unit, convert) => ({
  code,
  display: code,
  property: [
    { code: 'kind', valueCode: kind }, { code: 'scope', valueCode: scope },
    { code: 'window-days', valueInteger: windowDays }, { code: 'price-fen', valueInteger: priceFen },
    ...(unit ? [{ code: 'unit', valueString: unit }] : []),
    ...(convert ? [{ code: 'convert', valueString: convert }] : []),
  ],
});
const obs = (id, lab, code, value, unit, reported, status = 'final', patient = 'P') => ({
  resourceType: 'Observation', id, status, code: { coding: [{ system: LOINC, code }] },
  subject: { reference: `Patient/${patient}` }, issued: iso(reported), effectiveDateTime: iso(reported),
  performer: [{ reference: `Organization/${lab}` }], valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit },
});
const put = async (body) => {
  const r = await http('PUT', `${srv.base}/${body.resourceType}/${body.id}`, { body });
  assert.ok(r.status === 200 || r.status === 201, `${body.resourceType}/${body.id}: ${r.body}`);
};

before(async () => {
  ({ srv, tok } = await startWithUsers(users));
  // the tree: province > Zhengzhou (hb, la, lf, hx) and Zhoukou (county 411625 > hc)
  const division = (code) => [{ system: DIVISION, value: code }];
  await put({ resourceType: 'Organization', id: 'hc-410000', name: '河南省卫生健康委员会', identifier: division('410000') });
  await put({ resourceType: 'Organization', id: 'hc-410100', name: '郑州市卫生健康委员会', identifier: division('410100'), partOf: { reference: 'Organization/hc-410000' } });
  await put({ resourceType: 'Organization', id: 'hc-411600', name: '周口市卫生健康委员会', identifier: division('411600'), partOf: { reference: 'Organization/hc-410000' } });
  await put({ resourceType: 'Organization', id: 'hc-411625', name: '郸城县卫生健康委员会', identifier: division('411625'), partOf: { reference: 'Organization/hc-411600' } });
  const alliance = { url: `${EXT}alliance`, valueReference: { reference: 'Organization/all-1' } };
  const codes = ['2345-7', '1742-6', '718-7', '24627-2', '2160-0'];
  await put({ resourceType: 'Organization', id: 'la', name: '甲医院检验科', partOf: { reference: 'Organization/hc-410100' }, extension: [...codes.map((c) => yearRound(c)), alliance] });
  // lf passed haemoglobin, then failed it in a round published two days ago, effective from the next day
  await put({ resourceType: 'Organization', id: 'lf', name: '乙医院检验科', partOf: { reference: 'Organization/hc-410100' }, extension: [yearRound('718-7'), eqa('718-7', dateOnly(now - day), dateOnly(now + 300 * day), 'fail')] });
  await put({ resourceType: 'Organization', id: 'hb', name: '丙医院', partOf: { reference: 'Organization/hc-410100' }, extension: [alliance] });
  await put({ resourceType: 'Organization', id: 'hx', name: '丁医院', partOf: { reference: 'Organization/hc-410100' } });
  await put({ resourceType: 'Organization', id: 'hc', name: '郸城县人民医院', partOf: { reference: 'Organization/hc-411625' } });
  await put({
    resourceType: 'CodeSystem', id: 'cat', url: CATALOGUE, version: '2024', status: 'active', content: 'complete',
    extension: [{ url: `${EXT}recognition-mark`, valueString: '豫HR' }],
    concept: [
      item('2345-7', 'lab', 'province', 7, 500, 'mmol/L', 'mg/dL 0.0555'),
      item('1742-6', 'lab', 'city', 7, 600, 'U/L'),
      item('718-7', 'lab', 'province', 7, 2000, 'g/L'),
      item('2160-0', 'lab', 'alliance', 7, 800, 'umol/L'),
      item('24627-2', 'imaging', 'province', 30, 20000),
    ],
  });
  await put({ resourceType: 'Patient', id: 'P', identifier: [{ system: 'urn:id', value: 'P-1' }] });
  await put({ resourceType: 'Patient', id: 'Q', identifier: [{ system: 'urn:id', value: 'dup' }] });
  await put({ resourceType: 'Patient', id: 'Q2', identifier: [{ system: 'urn:id', value: 'dup' }] });
  // P is being treated at hb and hc (their encounters share P's records with them)
  for (const h of ['hb', 'hc']) {
    await put({ resourceType: 'Encounter', id: `enc-${h}`, meta: { tag: [{ system: CUSTODIAN, code: `Organization/${h}` }] }, status: 'in-progress', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: { reference: 'Patient/P' }, serviceProvider: { reference: `Organization/${h}` } });
  }
  await put(obs('glu', 'la', '2345-7', 97.3, 'mg/dL', now - 2 * day));
  await put(obs('glu-old', 'la', '2345-7', 5.1, 'mmol/L', now - 9 * day));
  await put(obs('alt', 'la', '1742-6', 30, 'U/L', now - day));
  await put(obs('hb-before', 'lf', '718-7', 135, 'g/L', now - 3 * day));
  await put(obs('hb-after', 'lf', '718-7', 128, 'g/L', now - 2 * 3600000));
  await put(obs('cr', 'la', '2160-0', 80, 'umol/L', now - day));
  await put(obs('glu-pre', 'la', '2345-7', 6.0, 'mmol/L', now - day, 'preliminary'));
  await put({ resourceType: 'ImagingStudy', id: 'study', status: 'available', identifier: [{ system: 'urn:dicom:uid', value: 'urn:oid:1.2.3.4' }], subject: { reference: 'Patient/P' } });
  const ct = (id, images) => ({
    resourceType: 'DiagnosticReport', id, status: 'final', code: { coding: [{ system: LOINC, code: '24627-2' }] },
    subject: { reference: 'Patient/P' }, issued: iso(now - 10 * day), performer: [{ reference: 'Organization/la' }],
    ...(images ? { imagingStudy: [{ reference: 'Imaging' + 'Study/study' }] } : {}),
  });
  await put(ct('ct', true));
  await put(ct('ct-noimg', false));
});
after(async () => { await srv.stop(); srv.cleanup(); });

// { code: { results: { ref: part map }, recognisable } } from a $recognizable answer
function parse(params) {
  const out = { items: {}, unknown: [], head: {} };
  for (const p of params.parameter) {
    if (p.name === 'not-in-catalogue') { out.unknown.push(p.valueString); continue; }
    if (p.name !== 'item') { out.head[p.name] = p.valueBoolean ?? p.valueString ?? p.valueReference?.reference; continue; }
    const it = { results: {} };
    for (const part of p.part) {
      if (part.name === 'code') it.code = part.valueCoding.code;
      else if (part.name === 'recognisable') it.recognisable = part.valueBoolean;
      else if (part.name === 'result') {
        const r = Object.fromEntries(part.part.map((x) => [x.name, x]));
        it.results[r.reference.valueReference.reference] = {
          ok: r.recognisable.valueBoolean, reason: r.reason.valueCoding.code, mark: r.mark?.valueString,
          value: r.value?.valueQuantity, en: r['reason-en'].valueString,
        };
      }
    }
    out.items[it.code] = it;
  }
  return out;
}

const recognizable = async (who, query) => {
  const r = await http('GET', `${srv.base}/Patient/P/$recognizable?${query}`, { headers: as(who) });
  assert.equal(r.status, 200, r.body);
  return parse(r.json);
};

test('$recognizable: each prior result with whether it may be recognised, and why', async () => {
  const all = `code=${LOINC}|2345-7,${LOINC}|1742-6,${LOINC}|718-7&code=${encodeURIComponent(`${LOINC}|24627-2`)}&code=9999-9`;
  const r = await recognizable('docb', all);
  assert.equal(r.head.organization, 'Organization/hb');
  assert.equal(r.head.bound, true);
  const glu = r.items['2345-7'].results;
  assert.deepEqual(glu['Observation/glu'].ok, true);
  assert.equal(glu['Observation/glu'].mark, '豫HR');
  assert.ok(Math.abs(glu['Observation/glu'].value.value - 97.3 * 0.0555) < 1e-6, 'mg/dL converted to the item unit');
  assert.equal(glu['Observation/glu'].value.unit, 'mmol/L');
  assert.equal(glu['Observation/glu-old'].reason, 'expired', 'older than the 7-day window: reference only');
  assert.equal(glu['Observation/glu-pre'].reason, 'not-final');
  assert.equal(r.items['1742-6'].results['Observation/alt'].mark, '郑州HR', 'a city item carries the city mark');
  assert.equal(r.items['24627-2'].results['DiagnosticReport/ct'].ok, true, 'a 10-day-old CT within its 30-day window');
  assert.equal(r.items['24627-2'].results['DiagnosticReport/ct-noimg'].reason, 'no-images');
  assert.deepEqual(r.unknown, ['9999-9']);
  // the other Zhengzhou hospital is outside the alliance; Zhoukou outside the city
  const c = await recognizable('docc', `code=${LOINC}|1742-6,${LOINC}|2160-0,${LOINC}|2345-7`);
  assert.equal(c.items['1742-6'].results['Observation/alt'].reason, 'out-of-scope');
  assert.equal(c.items['2160-0'].results['Observation/cr'].reason, 'out-of-scope');
  assert.equal(c.items['2345-7'].results['Observation/glu'].ok, true, 'province-wide items reach Zhoukou');
  assert.equal(r.items['2345-7'].recognisable, true);
});

test('a lab that lost its EQA qualification: results from the next day on are refused, earlier ones and earlier decisions stand', async () => {
  const r = await recognizable('docb', `code=${LOINC}|718-7`);
  const hb = r.items['718-7'].results;
  assert.equal(hb['Observation/hb-before'].ok, true, 'reported while qualified');
  assert.equal(hb['Observation/hb-after'].reason, 'not-qualified');
  assert.match(hb['Observation/hb-after'].en, /EQA/);
  // a decision taken on the earlier result stays as it was
  const d = await http('POST', `${srv.base}/Patient/P/$recognize`, { headers: as('docb'), body: decisions([{ code: '718-7', result: 'Observation/hb-before', outcome: 'recognised' }]) });
  assert.equal(d.status, 200, d.body);
  assert.equal((await http('POST', `${srv.base}/Patient/P/$recognize`, { headers: as('docb'), body: decisions([{ code: '718-7', result: 'Observation/hb-after', outcome: 'recognised' }]) })).status, 422);
  const decided = d.json.parameter.find((p) => p.name === 'decision').valueReference.reference;
  const kept = await http('GET', `${srv.base}/${decided}`, { headers: as('docb') });
  assert.equal(kept.json.meta.versionId, '1');
});

function decisions(list, extra = []) {
  return {
    resourceType: 'Parameters',
    parameter: [...extra, ...list.map((d) => ({
      name: 'decision',
      part: [
        { name: 'code', valueCoding: { system: LOINC, code: d.code } },
        ...(d.result ? [{ name: 'result', valueReference: { reference: d.result } }] : []),
        { name: 'outcome', valueCode: d.outcome },
        ...(d.reason ? [{ name: 'reason', valueCode: d.reason }] : []),
        ...(d.note ? [{ name: 'note', valueString: d.note }] : []),
        ...(d.explained !== undefined ? [{ name: 'explained', valueBoolean: d.explained }] : []),
        ...(d.consent !== undefined ? [{ name: 'consent', valueBoolean: d.consent }] : []),
      ],
    }))],
  };
}

const basicCount = async () => (await http('GET', `${srv.base}/Basic?subject=Patient/P&_summary=count`)).json.total;

test('$recognize records each decision as a resource, audited; fees saved add up', async () => {
  const before = await basicCount();
  const r = await http('POST', `${srv.base}/Patient/P/$recognize`, {
    headers: as('docb'),
    body: decisions([
      { code: '2345-7', result: 'Observation/glu', outcome: 'recognised' },
      { code: '1742-6', result: 'Observation/alt', outcome: 'retest', reason: 'major-intervention', note: '术前复查', explained: true },
    ]),
  });
  assert.equal(r.status, 200, r.body);
  const refs = r.json.parameter.filter((p) => p.name === 'decision').map((p) => p.valueReference.reference);
  assert.equal(refs.length, 2);
  assert.deepEqual(r.json.parameter.find((p) => p.name === 'fee-saved').valueMoney, { value: 5, currency: 'CNY' });
  assert.equal(await basicCount(), before + 2);
  const rec = (await http('GET', `${srv.base}/${refs[0]}`, { headers: as('docb') })).json;
  const ext = (res, name) => res.extension.find((e) => e.url === `${EXT}recognition-${name}`);
  assert.equal(rec.subject.reference, 'Patient/P');
  assert.equal(rec.author.reference, 'Practitioner/pb');
  assert.equal(ext(rec, 'outcome').valueCode, 'recognised');
  assert.equal(ext(rec, 'result').valueReference.reference, 'Observation/glu');
  assert.equal(ext(rec, 'performer').valueReference.reference, 'Organization/la');
  assert.equal(ext(rec, 'organization').valueReference.reference, 'Organization/hb');
  assert.equal(ext(rec, 'mark').valueString, '豫HR');
  assert.deepEqual(ext(rec, 'fee-saved').valueMoney, { value: 5, currency: 'CNY' });
  assert.equal(rec.meta.tag[0].code, 'Organization/hb', 'held by the deciding hospital');
  const retest = (await http('GET', `${srv.base}/${refs[1]}`, { headers: as('docb') })).json;
  assert.equal(ext(retest, 'retest-reason').valueCoding.code, 'major-intervention');
  assert.equal(ext(retest, 'note').valueString, '术前复查');
  assert.equal(ext(retest, 'explained').valueBoolean, true);
  assert.deepEqual(ext(retest, 'fee-saved').valueMoney, { value: 0, currency: 'CNY' });
  await new Promise((res) => setTimeout(res, 300)); // read entries reach the trail with the next group commit
  const trail = (await http('GET', `${srv.base}/AuditEvent?patient=P&_count=1000`)).json.entry.map((e) => e.resource);
  const op = trail.find((e) => e.subtype[0].code === 'operation' && e.agent[0].who.identifier.value === 'docb' && (e.entity || []).some((x) => x.what?.reference === refs[0]));
  assert.ok(op, 'the decision is in the audit trail');
  assert.ok(trail.some((e) => e.agent[0].who.identifier.value === 'docb' && (e.entity || []).some((x) => x.what?.reference === 'Observation/glu')), 'so is the read of the prior result');
});

test('$recognize refuses what the rules forbid, and then records nothing', async () => {
  const before = await basicCount();
  const post = (list, who = 'docb', extra) => http('POST', `${srv.base}/Patient/P/$recognize`, { headers: as(who), body: decisions(list, extra) });
  const ok = { code: '2345-7', result: 'Observation/glu', outcome: 'recognised' };
  const cases = [
    [[ok, { code: '2345-7', result: 'Observation/glu', outcome: 'retest' }], 422, /needs a reason/],
    [[{ code: '2345-7', result: 'Observation/glu', outcome: 'retest', reason: 'condition-changed' }], 422, /explained/],
    [[{ code: '2345-7', result: 'Observation/glu', outcome: 'retest', reason: 'other', explained: true }], 422, /consent/],
    [[{ ...ok, result: 'Observation/glu-old' }], 422, /reference only/],
    [[{ ...ok, code: '718-7' }], 422, /not a result of this item/],
    [[{ ...ok, result: 'Observation/nope' }], 422, /not a result/],
    [[{ code: '2345-7', outcome: 'recognised' }], 400, /names its 'result'/],
    [[{ ...ok, outcome: 'maybe' }], 400, /outcome/],
    [[{ ...ok, code: '9999-9' }], 400, /catalogue item/],
    [[{ ...ok, note: '查'.repeat(201) }], 422, /200 characters/],
    [[], 400, /parameter/],
  ];
  for (const [list, status, why] of cases) {
    const r = await post(list);
    assert.equal(r.status, status, `${JSON.stringify(list)} → ${r.body}`);
    assert.equal(r.json.resourceType, 'OperationOutcome');
    assert.match(diagnostics(r.json), why);
  }
  assert.equal((await post([ok], 'nurseb')).status, 403, 'a nurse does not record decisions');
  assert.equal((await post([ok], 'docx')).status, 403, 'nor a doctor who does not treat the patient');
  assert.equal(await basicCount(), before, 'nothing was recorded');
  // the patient's consent makes the reason 'other' acceptable; an emergency is not bound at all
  assert.equal((await post([{ code: '2345-7', result: 'Observation/glu', outcome: 'retest', reason: 'other', explained: true, consent: true }])).status, 200);
  const em = await post([{ code: '2345-7', result: 'Observation/glu', outcome: 'retest' }], 'docb', [{ name: 'emergency', valueBoolean: true }]);
  assert.equal(em.status, 200, em.body);
  assert.equal(em.json.parameter.find((p) => p.name === 'bound').valueBoolean, false);
  assert.equal(await basicCount(), before + 2);
});

test('$recognizable by identifier, by POST, and its refusals', async () => {
  const byId = await http('GET', `${srv.base}/Patient/$recognizable?identifier=urn:id|P-1&code=2345-7`, { headers: as('docb') });
  assert.equal(byId.status, 200, byId.body);
  assert.equal(parse(byId.json).head.patient, 'Patient/P');
  const posted = await http('POST', `${srv.base}/Patient/P/$recognizable`, {
    headers: as('docb'),
    body: { resourceType: 'Parameters', parameter: [{ name: 'code', valueCoding: { system: LOINC, code: '2345-7' } }] },
  });
  assert.equal(posted.status, 200, posted.body);
  assert.equal(parse(posted.json).items['2345-7'].results['Observation/glu'].ok, true);
  const refusals = [
    ['GET', 'Patient/$recognizable?identifier=urn:id|dup', 'docb', 409, /merge/],
    ['GET', 'Patient/$recognizable?identifier=urn:id|none', 'docb', 404, /no patient/],
    ['GET', 'Patient/$recognizable', 'docb', 400, /identifier/],
    ['GET', 'Patient/P/$recognizable?code=2345-7', 'docx', 403, /not in your records/],
    ['GET', 'Patient/P/$recognizable?code=2345-7', 'nurseb', 200, null],
    ['GET', 'Patient/P/$recognize', 'docb', 405, /not allowed/],
    ['DELETE', 'Patient/P/$recognizable', 'docb', 405, /not allowed/],
  ];
  for (const [method, path, who, status, why] of refusals) {
    const r = await http(method, `${srv.base}/${path}`, { headers: as(who) });
    assert.equal(r.status, status, `${method} ${path} as ${who}: ${r.body}`);
    if (why) assert.match(diagnostics(r.json), why);
  }
  const notParams = await http('POST', `${srv.base}/Patient/P/$recognizable`, { headers: as('docb'), body: { resourceType: 'Patient' } });
  assert.equal(notParams.status, 400);
  // an account of no institution names the one it acts for
  const admin = await http('GET', `${srv.base}/Patient/P/$recognizable?code=1742-6&organization=Organization/hc`);
  assert.equal(parse(admin.json).items['1742-6'].results['Observation/alt'].reason, 'out-of-scope');
  assert.equal((await http('GET', `${srv.base}/Patient/P/$recognizable?code=1742-6`)).status, 400);
});

test('the operations are in the CapabilityStatement; a missing catalogue is a clear error', async () => {
  const cap = (await http('GET', `${srv.base}/metadata`)).json;
  const patient = cap.rest[0].resource.find((r) => r.type === 'Patient');
  assert.deepEqual(patient.operation.map((o) => o.name).sort(), ['everything', 'recognizable', 'recognize']);
  const other = await startServer({ dir: tempDir() });
  try {
    await http('PUT', `${other.base}/Organization/o`, { body: { resourceType: 'Organization', id: 'o' } });
    await http('PUT', `${other.base}/Patient/p`, { body: { resourceType: 'Patient', id: 'p' } });
    const r = await http('GET', `${other.base}/Patient/p/$recognizable?organization=Organization/o`);
    assert.equal(r.status, 422);
    assert.match(diagnostics(r.json), /no recognition catalogue/);
  } finally { await other.stop(); other.cleanup(); }
});

test('indicators per hospital, city and province: rate, avoided tests, fees, marks, EQA; each caller their own', async () => {
  // the decisions of the tests above, all by hospital hb: recognised glucose (¥5) and haemoglobin
  // (¥20), three re-tests of recognisable results (ALT, glucose with consent, glucose in an emergency)
  const someDecision = (await http('GET', `${srv.base}/Basic?subject=Patient/P&_count=1`)).json.entry[0].resource;
  const period = someDecision.created.slice(0, 7);
  const ind = async (who, query) => {
    const r = await http('GET', `${srv.base}/MeasureReport/$recognition-indicators?period=${period}&${query}`, { headers: who ? as(who) : {} });
    return r;
  };
  const score = (report, code) => report.group.find((g) => g.code.coding[0].code === code).measureScore?.value;
  const byReporter = (bundle) => Object.fromEntries((bundle.entry || []).map((e) => [e.resource.reporter.reference, e.resource]));
  const hosp = byReporter((await ind(null, 'level=hospital')).json);
  const hb = hosp['Organization/hb'];
  assert.equal(hb.resourceType, 'MeasureReport');
  assert.equal(hb.period.start, `${period}-01`);
  assert.equal(score(hb, 'avoided-tests'), 2);
  assert.equal(score(hb, 'retests'), 3);
  assert.equal(score(hb, 'recognition-rate'), 0.4);
  assert.deepEqual(hb.group[0].population.map((p) => p.count), [2, 5]);
  assert.equal(score(hb, 'fees-saved'), 25);
  assert.equal(score(hb, 'marked-province'), 2);
  assert.equal(score(hosp['Organization/la'], 'eqa-items'), 5, 'la passed all five items');
  assert.equal(hosp['Organization/lf'], undefined, 'lf failed its only item before the month ended');
  // the city and the province add up the same decisions
  const city = byReporter((await ind(null, 'level=city')).json)['Organization/hc-410100'];
  assert.equal(score(city, 'avoided-tests'), 2);
  assert.equal(score(city, 'eqa-labs'), 1);
  const prov = byReporter((await ind(null, 'level=province')).json)['Organization/hc-410000'];
  assert.equal(score(prov, 'avoided-tests'), 2);
  // a regulator sees their region only, a hospital administrator their hospital; CSV too
  assert.deepEqual(Object.keys(byReporter((await ind('regzz', 'level=city')).json)), ['Organization/hc-410100']);
  assert.deepEqual(Object.keys(byReporter((await ind('regzk', 'level=hospital')).json)), []);
  assert.deepEqual(Object.keys(byReporter((await ind('admb', 'level=hospital')).json)), ['Organization/hb']);
  const csv = await ind('admb', 'level=hospital&format=csv');
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type'), /^text\/csv/);
  const [head, row] = csv.body.trim().split('\r\n');
  assert.equal(head.split(',')[6], 'recognised');
  assert.equal(row, `${period},hospital,"Organization/hb","丙医院",5,5,2,0.4000,3,25.00,2,0,0,0,0`);
  for (const who of ['docb', 'res']) assert.equal((await ind(who, 'level=city')).status, 403, who);
  for (const q of ['level=city&period=2024-13', 'level=ward', 'level=city&format=xml'])
    assert.equal((await http('GET', `${srv.base}/MeasureReport/$recognition-indicators?${q.includes('period') ? q : `period=${period}&${q}`}`)).status, 400, q);
});

test('a laboratory\'s own codes are recognised once a ConceptMap maps them; what it still lacks is reported', async () => {
  const LOCAL = 'https://fhir.yujian.org.cn/CodeSystem/local/la';
  const local = (id, code, value, unit) => ({ ...obs(id, 'la', 'x', value, unit, now - day), code: { coding: [{ system: LOCAL, code, display: `${code} (local)` }] } });
  await put(local('loc-glu', 'GLU', 5.2, 'mmol/L'));
  await put(local('loc-cr', 'CREA', 70, 'umol/L'));
  await put(local('loc-x1', 'XYZ', 1, 'U/L'));
  await put(local('loc-x2', 'XYZ', 2, 'U/L'));
  let r = await recognizable('docb', `code=${LOINC}|2345-7`);
  assert.equal(r.items['2345-7'].results['Observation/loc-glu'], undefined, 'unmapped: stored, not recognisable');
  const unmapped = async (who = null) => {
    const res = await http('GET', `${srv.base}/ConceptMap/$recognition-unmapped?laboratory=Organization/la`, { headers: who ? as(who) : {} });
    if (res.status !== 200) return res.status;
    return Object.fromEntries(res.json.parameter.filter((p) => p.name === 'unmapped').map((p) => {
      const m = Object.fromEntries(p.part.map((x) => [x.name, x]));
      return [m.code.valueCoding.code, m.count.valueInteger];
    }));
  };
  assert.deepEqual(await unmapped(), { XYZ: 2, GLU: 1, CREA: 1 });
  await put({
    resourceType: 'ConceptMap', id: 'cm-la', status: 'active',
    group: [{
      source: LOCAL, target: LOINC,
      element: [
        { code: 'GLU', target: [{ code: '2345-7', equivalence: 'equivalent' }] },
        { code: 'CREA', target: [{ code: '2160-0', equivalence: 'narrower' }] },
      ],
    }],
  });
  r = await recognizable('docb', `code=${LOINC}|2345-7,${LOINC}|2160-0`);
  assert.equal(r.items['2345-7'].results['Observation/loc-glu'].ok, true, 'mapped: recognisable like its catalogue code');
  assert.equal(r.items['2160-0'].results['Observation/loc-cr'], undefined, 'a narrower mapping is not an equivalence');
  assert.deepEqual(await unmapped(), { XYZ: 2, CREA: 1 });
  assert.deepEqual(await unmapped('regzz'), { XYZ: 2, CREA: 1 }, 'the city regulator may look');
  assert.equal(await unmapped('admb'), 403, 'another hospital may not');
  assert.equal(await unmapped('res'), 403);
  const d = await http('POST', `${srv.base}/Patient/P/$recognize`, { headers: as('docb'), body: decisions([{ code: '2345-7', result: 'Observation/loc-glu', outcome: 'recognised' }]) });
  assert.equal(d.status, 200, d.body);
  assert.equal((await http('GET', `${srv.base}/ConceptMap/$recognition-unmapped?laboratory=la`)).status, 400);
  // reference data is kept between calls, and a change is seen by the very next call: la fails
  // glucose in a round whose result counts from 36 hours ago
  const la = (await http('GET', `${srv.base}/Organization/la`)).json;
  la.extension.push(eqa('2345-7', iso(now - 36 * 3600000), dateOnly(now + 300 * day), 'fail'));
  assert.equal((await http('PUT', `${srv.base}/Organization/la`, { body: la })).status, 200);
  r = await recognizable('docb', `code=${LOINC}|2345-7`);
  assert.equal(r.items['2345-7'].results['Observation/glu'].ok, true, 'reported two days ago: before the failure');
  assert.equal(r.items['2345-7'].results['Observation/loc-glu'].reason, 'not-qualified', 'reported yesterday: after it');
});

test('a test recorded as recognised is not ordered or charged again that day, until a re-test is recorded', async () => {
  const count = async (type) => (await http('GET', `${srv.base}/${type}?subject=Patient/P&_summary=count`)).json.total;
  const order = (code, extra = {}) => ({ resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/P' }, code: { coding: [{ system: LOINC, code }] }, ...extra });
  const charge = (code, org) => ({ resourceType: 'ChargeItem', status: 'billable', subject: { reference: 'Patient/P' }, code: { coding: [{ system: LOINC, code }] }, requestingOrganization: { reference: `Organization/${org}` } });
  const decide = async (d) => {
    const r = await http('POST', `${srv.base}/Patient/P/$recognize`, { headers: as('docb'), body: decisions([d]) });
    assert.equal(r.status, 200, r.body);
    return r.json.parameter.find((p) => p.name === 'decision').valueReference.reference;
  };
  const recognised = await decide({ code: '2345-7', result: 'Observation/glu', outcome: 'recognised' });
  const orders = await count('ServiceRequest');
  const charges = await count('ChargeItem');

  // the hospital that recognised it: its order and its charge are refused, and nothing is written
  const refused = await http('POST', `${srv.base}/ServiceRequest`, { headers: as('docb'), body: order('2345-7') });
  assert.equal(refused.status, 422, refused.body);
  assert.equal(refused.json.issue[0].code, 'business-rule');
  assert.match(refused.json.issue[0].diagnostics, /当日已互认/);
  assert.ok(refused.json.issue[0].diagnostics.includes(recognised), 'names the decision');
  const billed = await http('POST', `${srv.base}/ChargeItem`, { headers: as('his'), body: charge('2345-7', 'hb') });
  assert.equal(billed.status, 422, billed.body);
  const tx = await http('POST', srv.base, {
    headers: as('docb'),
    body: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: order('2093-3'), request: { method: 'POST', url: 'ServiceRequest' } }, { resource: order('2345-7'), request: { method: 'POST', url: 'ServiceRequest' } }] },
  });
  assert.equal(tx.status, 422, tx.body);
  assert.equal(await count('ServiceRequest'), orders, 'the transaction wrote nothing');
  // a batch refuses that entry alone
  const batch = await http('POST', srv.base, {
    headers: as('docb'),
    body: { resourceType: 'Bundle', type: 'batch', entry: [{ resource: order('2093-3'), request: { method: 'POST', url: 'ServiceRequest' } }, { resource: order('2345-7'), request: { method: 'POST', url: 'ServiceRequest' } }] },
  });
  assert.equal(batch.status, 200, batch.body);
  assert.deepEqual(batch.json.entry.map((e) => e.response.status.slice(0, 3)), ['201', '422']);
  assert.equal(batch.json.entry[1].response.outcome.issue[0].code, 'business-rule');
  assert.equal(await count('ServiceRequest'), orders + 1);
  assert.equal(await count('ChargeItem'), charges);

  // a draft may be kept; made active, it is an order and is refused
  const draft = await http('POST', `${srv.base}/ServiceRequest`, { headers: as('docb'), body: order('2345-7', { status: 'draft' }) });
  assert.equal(draft.status, 201, draft.body);
  const activated = await http('PUT', `${srv.base}/ServiceRequest/${draft.json.id}`, { headers: as('docb'), body: { ...draft.json, status: 'active' } });
  assert.equal(activated.status, 422, activated.body);

  // other items, other hospitals, orders already placed: not this rule's business
  assert.equal((await http('POST', `${srv.base}/ServiceRequest`, { headers: as('docb'), body: order('2093-3') })).status, 201, 'an item not in the catalogue');
  assert.equal((await http('POST', `${srv.base}/ServiceRequest`, { headers: as('docc'), body: order('2345-7') })).status, 201, 'a hospital that did not recognise it');
  assert.equal((await http('POST', `${srv.base}/ChargeItem`, { headers: as('his'), body: charge('2345-7', 'hc') })).status, 201);
  // a charge is held to its own day: yesterday's (sent late by the HIS) was not recognised then
  const late = { ...charge('2345-7', 'hb'), occurrenceDateTime: iso(now - day) };
  assert.equal((await http('POST', `${srv.base}/ChargeItem`, { headers: as('his'), body: late })).status, 201);
  const today = await http('POST', `${srv.base}/ChargeItem`, { headers: as('his'), body: { ...late, occurrenceDateTime: iso(Date.now()) } });
  assert.equal(today.status, 422, today.body);

  // the doctor changes their mind: the last decision stands
  await decide({ code: '2345-7', result: 'Observation/glu', outcome: 'retest', reason: 'condition-changed', explained: true });
  const placed = await http('POST', `${srv.base}/ServiceRequest`, { headers: as('docb'), body: order('2345-7') });
  assert.equal(placed.status, 201, placed.body);
  assert.equal((await http('POST', `${srv.base}/ChargeItem`, { headers: as('his'), body: charge('2345-7', 'hb') })).status, 201);
  // and recognised once more: a new order is refused, the placed one may still be completed
  await decide({ code: '2345-7', result: 'Observation/glu', outcome: 'recognised' });
  assert.equal((await http('POST', `${srv.base}/ServiceRequest`, { headers: as('docb'), body: order('2345-7') })).status, 422);
  // by a laboratory's own code mapped to the item, too
  const LOCAL = 'https://fhir.yujian.org.cn/CodeSystem/local/la';
  await put({ resourceType: 'ConceptMap', id: 'cm-la', status: 'active', group: [{ source: LOCAL, target: LOINC, element: [{ code: 'GLU', target: [{ code: '2345-7', equivalence: 'equivalent' }] }, { code: 'CREA', target: [{ code: '2160-0', equivalence: 'narrower' }] }] }] });
  const local = order('GLU');
  local.code.coding[0].system = LOCAL;
  const byLocal = await http('POST', `${srv.base}/ServiceRequest`, { headers: as('docb'), body: local });
  assert.equal(byLocal.status, 422, byLocal.body);
  assert.match(byLocal.json.issue[0].diagnostics, /http:\/\/loinc.org\|2345-7 was recorded as recognised .*\(\$recognize\)$/, 'the whole reason');
  const done = await http('PUT', `${srv.base}/ServiceRequest/${placed.json.id}`, { headers: as('docb'), body: { ...placed.json, status: 'completed' } });
  assert.equal(done.status, 200, done.body);
});

test('with recognition.refuse_charges 0 the orders and charges of recognised tests go through', async () => {
  const { srv: off, tok: offTok } = await startWithUsers([['doc', 'doctor', ['--org', 'Organization/hb', '--subject', 'Practitioner/pb']]], { args: ['--refuse-recognised-charges', '0'] });
  try {
    const putOff = async (body) => {
      const r = await http('PUT', `${off.base}/${body.resourceType}/${body.id}`, { body });
      assert.ok(r.status === 200 || r.status === 201, r.body);
    };
    await putOff({ resourceType: 'Organization', id: 'hc-410000', name: '河南省卫生健康委员会', identifier: [{ system: DIVISION, value: '410000' }] });
    await putOff({ resourceType: 'Organization', id: 'hc-410100', name: '郑州市卫生健康委员会', identifier: [{ system: DIVISION, value: '410100' }], partOf: { reference: 'Organization/hc-410000' } });
    await putOff({ resourceType: 'Organization', id: 'la', name: '甲医院检验科', partOf: { reference: 'Organization/hc-410100' }, extension: [yearRound('2345-7')] });
    await putOff({ resourceType: 'Organization', id: 'hb', name: '丙医院', partOf: { reference: 'Organization/hc-410100' } });
    await putOff({ resourceType: 'CodeSystem', id: 'cat', url: CATALOGUE, version: '2024', status: 'active', content: 'complete', concept: [item('2345-7', 'lab', 'province', 7, 500, 'mmol/L')] });
    await putOff({ resourceType: 'Patient', id: 'P' });
    await putOff({ resourceType: 'Encounter', id: 'enc-hb', meta: { tag: [{ system: CUSTODIAN, code: 'Organization/hb' }] }, status: 'in-progress', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: { reference: 'Patient/P' }, serviceProvider: { reference: 'Organization/hb' } });
    await putOff(obs('glu', 'la', '2345-7', 5.3, 'mmol/L', now - day));
    const headers = { Authorization: `Bearer ${offTok.doc}` };
    const d = await http('POST', `${off.base}/Patient/P/$recognize`, { headers, body: decisions([{ code: '2345-7', result: 'Observation/glu', outcome: 'recognised' }]) });
    assert.equal(d.status, 200, d.body);
    const order = { resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/P' }, code: { coding: [{ system: LOINC, code: '2345-7' }] } };
    const r = await http('POST', `${off.base}/ServiceRequest`, { headers, body: order });
    assert.equal(r.status, 201, r.body);
  } finally {
    await off.stop();
    off.cleanup();
  }
});
