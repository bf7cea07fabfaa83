// The one-stop admission centre and day surgery (DOMAIN.md §2-3) through the FHIR API: the queue of
// admission notices, pre-admission (预住院) with its items and its 5/7-day window and what lapsing
// means for settlement, admission into a bed (emergencies without a notice), cancellation, and day
// surgery's catalogue, booking, PADS discharge, the 24-hour rule and follow-up calls.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { http, diagnostics, putAs, startWithUsers, startServer } from './helpers.mjs';

const EXT = 'https://fhir.yujian.org.cn/StructureDefinition/';
const PHYS = 'http://terminology.hl7.org/CodeSystem/location-physical-type';
const STATUS = 'https://fhir.yujian.org.cn/CodeSystem/bed-status';
const REQ = 'https://fhir.yujian.org.cn/CodeSystem/inpatient-request';
const ICD9 = 'urn:oid:2.16.156.10011.2.3.2'; // ICD-9-CM-3 (China)
const HOUR = 3600000, DAY = 24 * HOUR;
const iso = (ms) => new Date(ms).toISOString();
const now = Date.now();

let srv;
let tok = {};
const as = (name) => ({ Authorization: `Bearer ${tok[name]}` });
const users = [
  ['hadm', 'hospital-admin', ['--org', 'Organization/h1']],
  ['adm', 'admission', ['--org', 'Organization/h1']],
  ['adm2', 'admission', ['--org', 'Organization/h2']],
  ['nurse', 'nurse', ['--org', 'Organization/h1']],
  ['reg', 'regulator', ['--org', 'Organization/hc-zz']],
  ['hadm2', 'hospital-admin', ['--org', 'Organization/h2']],
];
const put = (body, who = 'adm') => putAs(srv, as(who), body);
const read = async (path, who = 'adm') => (await http('GET', `${srv.base}/${path}`, { headers: as(who) })).json;
const params = (obj) => {
  const parameter = Object.entries(obj).map(([name, v]) => (typeof v === 'boolean' ? { name, valueBoolean: v }
    : typeof v === 'number' ? { name, valueInteger: v }
      : /^[A-Z][A-Za-z]+\//.test(v) ? { name, valueReference: { reference: v } } : { name, valueString: v }));
  return { resourceType: 'Parameters', ...(parameter.length ? { parameter } : {}) };
};
const op = (path, body, who = 'adm') => http('POST', `${srv.base}/${path}`, { headers: as(who), body: params(body) });
const out = (r) => Object.fromEntries(r.json.parameter.map((p) => [p.name, p.valueCode ?? p.valueBoolean ?? p.valueInteger ?? p.valueDateTime ?? p.valueReference?.reference ?? p.part]));
const notice = (id, patient, extra = {}) => ({
  resourceType: 'ServiceRequest', id, status: 'active', intent: 'order',
  category: [{ coding: [{ system: REQ, code: extra.category || 'admission' }] }],
  subject: { reference: `Patient/${patient}` }, performer: [{ reference: 'Organization/gs' }],
  authoredOn: iso(extra.authored ?? now - HOUR), priority: extra.priority || 'routine',
  reasonCode: [{ coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'K80.2', display: '胆囊结石' }] }],
  ...(extra.code ? { code: { coding: [{ system: ICD9, code: extra.code }] } } : {}),
  ...(extra.elective ? { extension: [{ url: `${EXT}elective-surgery`, valueBoolean: true }] } : {}),
});
const bed = (id) => ({
  resourceType: 'Location', id, name: id, status: 'active', physicalType: { coding: [{ system: PHYS, code: 'bd' }] },
  partOf: { reference: 'Location/wa-gs' }, operationalStatus: { system: STATUS, code: 'free' },
});

before(async () => {
  ({ srv, tok } = await startWithUsers(users));
  const asAdmin = await http('PUT', `${srv.base}/Organization/hc-zz`, { body: { resourceType: 'Organization', id: 'hc-zz', name: '郑州市卫生健康委员会' } });
  assert.equal(asAdmin.status, 201, asAdmin.body);
  await put({ resourceType: 'Organization', id: 'h1', name: '第一医院', partOf: { reference: 'Organization/hc-zz' }, extension: [{ url: `${EXT}hospital-level`, valueCode: '3-general' }] }, 'hadm');
  await put({ resourceType: 'Organization', id: 'gs', name: '普外科', partOf: { reference: 'Organization/h1' } }, 'hadm');
  await put({ resourceType: 'Location', id: 'bu', name: 'A楼', physicalType: { coding: [{ system: PHYS, code: 'bu' }] }, managingOrganization: { reference: 'Organization/h1' } }, 'hadm');
  await put({ resourceType: 'Location', id: 'wa-gs', name: '普外病区', physicalType: { coding: [{ system: PHYS, code: 'wa' }] }, partOf: { reference: 'Location/bu' }, managingOrganization: { reference: 'Organization/gs' }, extension: [{ url: `${EXT}specialty-group`, valueCode: 'surgery' }] }, 'hadm');
  for (let i = 1; i <= 12; i++) await put(bed(`b${i}`), 'hadm');
  await put({
    resourceType: 'ValueSet', id: 'ds-h1', url: 'https://fhir.yujian.org.cn/ValueSet/day-surgery-h1', status: 'active',
    compose: { include: [{ system: ICD9, concept: [{ code: '51.2301' }, { code: '53.0201' }, { code: '13.1901' }] }] },
  }, 'hadm');
  for (const p of ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8', 'p9', 'p10'])
    await put({ resourceType: 'Patient', id: p, gender: 'female', birthDate: '1980-01-01' });
});
after(async () => { await srv.stop(); srv.cleanup(); });

const queue = async (q = '') => {
  const r = await http('GET', `${srv.base}/ServiceRequest/$admission-queue?${q}`, { headers: as('adm') });
  assert.equal(r.status, 200, r.body);
  const o = { entries: [] };
  for (const p of r.json.parameter) {
    if (p.name !== 'entry') { o[p.name] = p.valueInteger ?? p.valueString; continue; }
    const e = Object.fromEntries(p.part.map((x) => [x.name, x.valueReference?.reference ?? x.valueCode ?? x.valueInteger ?? x.part]));
    o.entries.push(e);
  }
  return o;
};

test('the queue: most urgent first, then the longest waiting; paged; by department', async () => {
  await put(notice('q-routine-new', 'p1', { authored: now - 2 * HOUR }));
  await put(notice('q-routine-old', 'p2', { authored: now - 30 * HOUR }));
  await put({ ...notice('q-urgent', 'p3', { priority: 'urgent', authored: now - HOUR }), insurance: [{ reference: 'Coverage/cov-p3', display: '城镇职工基本医疗保险' }] });
  await put(notice('q-stat', 'p4', { priority: 'stat', authored: now - 10 * 60000 }));
  const q = await queue();
  const ids = q.entries.map((e) => e.request);
  assert.deepEqual(ids.slice(0, 4), ['ServiceRequest/q-stat', 'ServiceRequest/q-urgent', 'ServiceRequest/q-routine-old', 'ServiceRequest/q-routine-new']);
  assert.equal(q.entries[2]['waiting-hours'], 30);
  assert.equal(q.entries[0].patient, 'Patient/p4');
  assert.equal(q.entries[1].insurance, 'Coverage/cov-p3'); // the notice's insurance, for the settlement
  assert.equal(q.entries[0].insurance, undefined);
  const page2 = await queue('count=2&page=2');
  assert.deepEqual(page2.entries.map((e) => e.request), ['ServiceRequest/q-routine-old', 'ServiceRequest/q-routine-new']);
  assert.equal(page2.pages, 2);
  assert.equal((await queue('department=Organization/other')).total, 0);
  // another hospital's clerk sees none of them
  const other = await http('GET', `${srv.base}/ServiceRequest/$admission-queue`, { headers: as('adm2') });
  assert.equal(other.status, 200);
  assert.equal(other.json.parameter.find((p) => p.name === 'total').valueInteger, 0);
  assert.equal((await http('GET', `${srv.base}/ServiceRequest/$admission-queue?count=0`, { headers: as('adm') })).status, 400);
});

test('pre-admission: only elective, diagnosed, stable patients; items tracked; one per notice', async () => {
  await put(notice('pa-1', 'p5', { elective: true }));
  await put(notice('pa-acute', 'p6'));
  assert.equal((await op('ServiceRequest/pa-acute/$pre-admit', { 'diagnosis-confirmed': true, stable: true })).status, 422);
  const unstable = await op('ServiceRequest/pa-1/$pre-admit', { 'diagnosis-confirmed': true, stable: false });
  assert.equal(unstable.status, 422);
  assert.match(diagnostics(unstable.json), /病情不稳定/);
  const r = await op('ServiceRequest/pa-1/$pre-admit', { 'diagnosis-confirmed': true, stable: true });
  assert.equal(r.status, 200, r.body);
  const enc = out(r).encounter;
  const deadline = Date.parse(out(r).deadline);
  const e = await read(enc);
  assert.equal(e.class.code, 'PRENC');
  assert.equal(e.basedOn[0].reference, 'ServiceRequest/pa-1');
  assert.equal(deadline - Date.parse(e.period.start), 5 * DAY);
  assert.equal((await op('ServiceRequest/pa-1/$pre-admit', { 'diagnosis-confirmed': true, stable: true })).status, 409);
  const id = enc.split('/')[1];
  assert.equal((await op(`Encounter/${id}/$pre-admission-item`, { item: 'anaesthesia' })).status, 400);
  assert.equal((await op(`Encounter/${id}/$pre-admission-item`, { item: 'x-ray' })).status, 400);
  assert.equal(out(await op(`Encounter/${id}/$pre-admission-item`, { item: 'tests' })).complete, false);
  assert.equal(out(await op(`Encounter/${id}/$pre-admission-item`, { item: 'anaesthesia', asa: 2 })).complete, false);
  const last = await op(`Encounter/${id}/$pre-admission-item`, { item: 'education' }, 'nurse');
  assert.equal(last.status, 200, last.body);
  assert.equal(out(last).complete, true);
  const entry = (await queue()).entries.find((x) => x.request === 'ServiceRequest/pa-1');
  const pa = Object.fromEntries(entry['pre-admission'].map((x) => [x.name, x.valueCode ?? x.valueBoolean ?? x.valueDateTime]));
  assert.equal(pa.state, 'open');
  assert.equal(pa.complete, true);
});

// A pre-admission registered days ago, as it would be after those days passed.
async function pastPreAdmission(id, patient, daysAgo) {
  await put(notice(id, patient, { elective: true }));
  const r = await op(`ServiceRequest/${id}/$pre-admit`, { 'diagnosis-confirmed': true, stable: true });
  assert.equal(r.status, 200, r.body);
  const encId = out(r).encounter.split('/')[1];
  const e = await read(`Encounter/${encId}`);
  e.period.start = iso(now - daysAgo * DAY);
  await put(e);
  return encId;
}

test('admitted within the window the pre-admission is settled with the stay; after it, as outpatient care', async () => {
  await pastPreAdmission('win-in', 'p7', 4);
  const inside = await op('Encounter/$admit', { request: 'ServiceRequest/win-in', bed: 'Location/b1' });
  assert.equal(inside.status, 200, inside.body);
  assert.equal(out(inside)['pre-admission-settlement'], 'inpatient');
  const stay = out(inside).encounter;
  const s = await read(stay);
  assert.equal(s.class.code, 'IMP');
  assert.equal(s.status, 'in-progress');
  assert.equal(s.location[0].location.reference, 'Location/b1');
  assert.equal((await read('Location/b1')).operationalStatus.code, 'occupied');
  assert.equal((await read('ServiceRequest/win-in')).status, 'completed');
  // the notice is used up
  assert.equal((await op('Encounter/$admit', { request: 'ServiceRequest/win-in', bed: 'Location/b2' })).status, 409);
  const lapsedId = await pastPreAdmission('win-out', 'p8', 6);
  const late = await op('Encounter/$admit', { request: 'ServiceRequest/win-out', bed: 'Location/b2' });
  assert.equal(late.status, 200, late.body);
  assert.equal(out(late)['pre-admission-settlement'], 'outpatient');
  const pre = await read(`Encounter/${lapsedId}`);
  assert.equal(pre.status, 'finished', JSON.stringify(pre).slice(0, 300));
  assert.equal(pre.partOf.reference, out(late).encounter);
  assert.equal(pre.extension.find((x) => x.url === `${EXT}pre-admission-settlement`).valueCode, 'outpatient');
});

test('the window extends to 7 days with an approver, once, and not after it closed', async () => {
  const id = await pastPreAdmission('ext-1', 'p1', 6);
  assert.equal((await op(`Encounter/${id}/$extend-pre-admission`, {})).status, 400);
  const r = await op(`Encounter/${id}/$extend-pre-admission`, { approver: 'Practitioner/chief' });
  assert.equal(r.status, 200, r.body);
  const e = await read(`Encounter/${id}`);
  assert.equal(Date.parse(out(r).deadline) - Date.parse(e.period.start), 7 * DAY);
  assert.equal((await op(`Encounter/${id}/$extend-pre-admission`, { approver: 'Practitioner/chief' })).status, 409);
  const a = await op('Encounter/$admit', { request: 'ServiceRequest/ext-1', bed: 'Location/b3' });
  assert.equal(out(a)['pre-admission-settlement'], 'inpatient');
  const old = await pastPreAdmission('ext-late', 'p2', 8);
  assert.equal((await op(`Encounter/${old}/$extend-pre-admission`, { approver: 'Practitioner/chief' })).status, 409);
});

test('emergencies are admitted without a notice; others need one', async () => {
  assert.equal((await op('Encounter/$admit', { patient: 'Patient/p3', department: 'Organization/gs', bed: 'Location/b4' })).status, 400);
  assert.equal((await op('Encounter/$admit', { patient: 'Patient/p3', department: 'Organization/gs', emergency: true })).status, 400);
  const r = await op('Encounter/$admit', { patient: 'Patient/p3', department: 'Organization/gs', bed: 'Location/b4', emergency: true });
  assert.equal(r.status, 200, r.body);
  const e = await read(out(r).encounter);
  assert.equal(e.priority.coding[0].code, 'EM');
  assert.equal(e.serviceProvider.reference, 'Organization/gs');
  assert.equal((await read('Location/b4')).operationalStatus.code, 'occupied');
  // the same patient again: a duplicate booking is refused, and no bed is taken
  await put(notice('dup-1', 'p3'));
  const again = await op('Encounter/$admit', { request: 'ServiceRequest/dup-1', bed: 'Location/b9' });
  assert.equal(again.status, 409, again.body);
  assert.match(diagnostics(again.json), /已在院/);
  assert.equal((await read('Location/b9')).operationalStatus.code, 'free');
  assert.equal((await op('ServiceRequest/dup-1/$cancel-admission', { reason: '重复登记' })).status, 200);
  // another hospital's clerk cannot take h1's bed
  assert.equal((await op('Encounter/$admit', { patient: 'Patient/p3', department: 'Organization/gs', bed: 'Location/b5', emergency: true }, 'adm2')).status, 403);
  assert.equal((await read('Location/b5')).operationalStatus.code, 'free');
});

test('a cancelled notice leaves the queue; its open pre-admission is settled as outpatient care', async () => {
  const id = await pastPreAdmission('cx-1', 'p4', 1);
  assert.equal((await op('ServiceRequest/cx-1/$cancel-admission', {})).status, 400);
  const r = await op('ServiceRequest/cx-1/$cancel-admission', { reason: '患者已在外院住院' });
  assert.equal(r.status, 200, r.body);
  assert.equal(out(r)['pre-admission-settlement'], 'outpatient');
  const sr = await read('ServiceRequest/cx-1');
  assert.equal(sr.status, 'revoked');
  assert.equal(sr.extension.find((x) => x.url === `${EXT}cancel-reason`).valueString, '患者已在外院住院');
  assert.equal((await read(`Encounter/${id}`)).status, 'cancelled');
  assert.ok(!(await queue()).entries.some((e) => e.request === 'ServiceRequest/cx-1'));
  assert.equal((await op('ServiceRequest/cx-1/$cancel-admission', { reason: 'again' })).status, 409);
});

test('day surgery: catalogue, ASA and escort checked at booking; booked before admission', async () => {
  await put(notice('ds-out', 'p5', { category: 'day-surgery', code: '99.9999' }));
  await put(notice('ds-1', 'p6', { category: 'day-surgery', code: '51.2301' }));
  const date = iso(now + DAY);
  const notIn = await op('ServiceRequest/ds-out/$book-day-surgery', { asa: 1, escort: true, date });
  assert.equal(notIn.status, 422);
  assert.match(diagnostics(notIn.json), /目录/);
  assert.equal((await op('ServiceRequest/ds-1/$book-day-surgery', { asa: 3, escort: true, date })).status, 422);
  assert.equal((await op('ServiceRequest/ds-1/$book-day-surgery', { asa: 2, escort: false, date })).status, 422);
  assert.equal((await op('ServiceRequest/ds-1/$book-day-surgery', { asa: 2, escort: true })).status, 400);
  assert.equal((await op('Encounter/$admit', { request: 'ServiceRequest/ds-1', bed: 'Location/b6' })).status, 422);
  const b = await op('ServiceRequest/ds-1/$book-day-surgery', { asa: 2, escort: true, date });
  assert.equal(b.status, 200, b.body);
  assert.equal((await read('ServiceRequest/ds-1')).occurrenceDateTime, date);
  // booked for tomorrow: not admitted today (same-day admission), and no bed is taken
  const early = await op('Encounter/$admit', { request: 'ServiceRequest/ds-1', bed: 'Location/b6' });
  assert.equal(early.status, 422, early.body);
  assert.match(diagnostics(early.json), /预约当日入院/);
  assert.equal((await read('Location/b6')).operationalStatus.code, 'free');
  // booked again, for today (a date in China's calendar)
  const today = iso(Date.now() + 8 * HOUR).slice(0, 10);
  assert.equal((await op('ServiceRequest/ds-1/$book-day-surgery', { asa: 2, escort: true, date: today })).status, 200);
  const cat = await http('GET', `${srv.base}/Organization/h1/$day-surgery-catalogue`, { headers: as('hadm') });
  assert.deepEqual(out(cat), { level: '3-general', size: 3, minimum: 50, 'meets-minimum': false });
});

test('day surgery: home with a PADS score of 9 or more, follow-up calls queued; past 24 hours it is an ordinary stay', async () => {
  const a = await op('Encounter/$admit', { request: 'ServiceRequest/ds-1', bed: 'Location/b6' });
  assert.equal(a.status, 200, a.body);
  const stay = out(a).encounter;
  const id = stay.split('/')[1];
  assert.equal((await read(stay)).class.code, 'SS');
  assert.equal((await op(`Encounter/${id}/$discharge`, {})).status, 400);
  const low = await op(`Encounter/${id}/$discharge`, { pads: 8 });
  assert.equal(low.status, 422);
  assert.match(diagnostics(low.json), /PADS/);
  const d = await op(`Encounter/${id}/$discharge`, { pads: 9 });
  assert.equal(d.status, 200, d.body);
  assert.equal(out(d)['day-surgery'], 'within-24h');
  const tasks = await http('GET', `${srv.base}/Task?encounter=${stay}`, { headers: as('adm') });
  assert.deepEqual(tasks.json.entry.map((x) => x.resource.code.coding[0].code).sort(), ['follow-up-24h', 'follow-up-7d']);
  // admitted 25 hours ago: the stay is converted at discharge
  await put(notice('ds-2', 'p9', { category: 'day-surgery', code: '53.0201' }));
  assert.equal((await op('ServiceRequest/ds-2/$book-day-surgery', { asa: 1, escort: true, date: iso(Date.now()) })).status, 200);
  const a2 = await op('Encounter/$admit', { request: 'ServiceRequest/ds-2', bed: 'Location/b7' });
  const e2 = await read(out(a2).encounter);
  e2.period.start = iso(now - 25 * HOUR);
  await put(e2);
  const d2 = await op(`Encounter/${e2.id}/$discharge`, { pads: 10 });
  assert.equal(d2.status, 200, d2.body);
  assert.equal(out(d2)['day-surgery'], 'converted');
  const after2 = await read(`Encounter/${e2.id}`);
  assert.equal(after2.class.code, 'IMP');
  assert.ok(after2.extension.some((x) => x.url === `${EXT}day-surgery-converted`));
  // converted by decision while still in
  await put(notice('ds-3', 'p10', { category: 'day-surgery', code: '13.1901' }));
  await op('ServiceRequest/ds-3/$book-day-surgery', { asa: 1, escort: true, date: iso(Date.now()) });
  const a3 = await op('Encounter/$admit', { request: 'ServiceRequest/ds-3', bed: 'Location/b8' });
  const id3 = out(a3).encounter.split('/')[1];
  const c3 = await op(`Encounter/${id3}/$convert-to-inpatient`, { reason: '术后出血观察' });
  assert.equal(c3.status, 200, c3.body);
  assert.equal((await read(`Encounter/${id3}`)).class.code, 'IMP');
  assert.equal((await op(`Encounter/${id3}/$convert-to-inpatient`, {})).status, 422);
});

test('the month\'s inpatient indicators per ward, hospital and city, for those who may see them', async () => {
  // an operation on the stay of ds-2 (admitted 25 hours ago), and one dated before its admission
  const stay = (await http('GET', `${srv.base}/Encounter?based-on=ServiceRequest/ds-2`, { headers: as('adm') })).json.entry[0].resource;
  const proc = (id, at) => ({ resourceType: 'Procedure', id, status: 'completed', subject: stay.subject, encounter: { reference: `Encounter/${stay.id}` }, performedDateTime: iso(at), code: { coding: [{ system: ICD9, code: '51.2301' }] } });
  await put(proc('op-1', Date.parse(stay.period.start) + 2 * HOUR), 'nurse');
  await put(proc('op-bad', Date.parse(stay.period.start) - 2 * DAY), 'nurse');
  // the emergency patient has been in bed b4 for three hours
  const em = (await http('GET', `${srv.base}/Encounter?location=Location/b4`, { headers: as('adm') })).json.entry[0].resource;
  em.location[0].period.start = iso(Date.now() - 3 * HOUR);
  await put(em);
  const period = iso(now + 8 * HOUR).slice(0, 7); // this month in China
  const report = async (level, who = 'hadm', extra = '') => {
    const r = await http('GET', `${srv.base}/MeasureReport/$inpatient-indicators?period=${period}&level=${level}${extra}`, { headers: as(who) });
    return r;
  };
  const r = await report('hospital');
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.entry.length, 1);
  const mr = r.json.entry[0].resource;
  assert.equal(mr.reporter.reference, 'Organization/h1');
  assert.equal(mr.reporter.display, '第一医院');
  const g = Object.fromEntries(mr.group.map((x) => [x.code.coding[0].code, {
    n: x.population ? x.population[0].count : x.measureScore.value, d: x.population?.[1].count, v: x.measureScore?.value,
  }]));
  // what falls in this month depends on the day the test runs: the data reach 8 days back
  const inMonth = (ms) => iso(ms + 8 * HOUR).slice(0, 7) === period;
  const admissions = 6 + inMonth(now - 25 * HOUR); // ds-2's admission was moved 25 hours back
  assert.equal(g.admissions.n, admissions);
  assert.deepEqual([g['borrowed-beds'].n, g['borrowed-beds'].d], [0, admissions]);
  assert.equal(g['admission-wait-minutes'].d, 5); // ds-2's admission is before its notice
  const preDays = { 'pa-1': 0, 'win-in': 4, 'win-out': 6, 'ext-1': 6, 'ext-late': 8, 'cx-1': 1 };
  const begun = Object.values(preDays).filter((d) => inMonth(now - d * DAY)).length;
  const settled = ['win-in', 'ext-1'].filter((k) => inMonth(now - preDays[k] * DAY)).length;
  assert.deepEqual([g['pre-admission-conversion'].n, g['pre-admission-conversion'].d], [settled, begun]);
  assert.deepEqual([g['day-surgery-share'].n, g['day-surgery-share'].d, g['day-surgery-share'].v], [1, 2, 0.5]);
  assert.equal(g.overstays.n, 1);
  assert.equal(g.cancellations.n, 2); // cx-1 and the duplicate dup-1
  if (inMonth(now - 23 * HOUR)) {
    assert.equal(g['preop-minutes'].d, 1);
    assert.equal(g['preop-minutes'].v, 120);
  }
  assert.equal(g['preop-invalid'].n, inMonth(now - 73 * HOUR) ? 1 : 0);
  assert.ok(g.occupancy.n >= 180 && g.occupancy.n < 200, JSON.stringify(g.occupancy));
  assert.ok(g.occupancy.d > 12 * 60 * 24 * 0.9 * (new Date(Date.now() + 8 * HOUR).getUTCDate() - 1), JSON.stringify(g.occupancy));
  // by ward: the stays' ward; by city: the commission the hospital is part of
  const ward = (await report('ward')).json.entry.map((e) => e.resource.reporter);
  assert.deepEqual(ward.map((x) => [x.reference, x.display]), [['Location/wa-gs', '普外病区']]);
  const city = await report('city', 'reg');
  assert.equal(city.status, 200, city.body);
  assert.deepEqual(city.json.entry.map((e) => e.resource.reporter.reference), ['Organization/hc-zz']);
  // another hospital's administrator sees none of it; an admission clerk may not ask
  assert.equal((await report('hospital', 'hadm2')).json.entry.length, 0);
  assert.equal((await report('hospital', 'adm')).status, 403);
  assert.equal((await report('floor')).status, 400);
  assert.equal((await http('GET', `${srv.base}/MeasureReport/$inpatient-indicators?period=2024-13&level=ward`, { headers: as('hadm') })).status, 400);
  const csv = await report('hospital', 'hadm', '&format=csv');
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type'), /text\/csv/);
  const lines = csv.body.trim().split('\r\n');
  assert.equal(lines[0], 'period,level,unit,name,indicator,numerator,denominator,value');
  assert.ok(lines.includes(`${period},hospital,"Organization/h1","第一医院",day-surgery-share,1,2,0.5000`), lines.join('\n'));
});

test('how stays end: a death queues its discussion, leaving against advice needs no PADS; the month counts them, readmissions and same-day cancellations', async () => {
  // a second hospital with nothing else in it, so that its figures are these alone
  await put({ resourceType: 'Organization', id: 'h2', name: '第二医院' }, 'hadm2');
  await put({ resourceType: 'Organization', id: 'gs2', name: '普外科', partOf: { reference: 'Organization/h2' } }, 'hadm2');
  await put({ resourceType: 'Location', id: 'bu2', name: 'B楼', physicalType: { coding: [{ system: PHYS, code: 'bu' }] }, managingOrganization: { reference: 'Organization/h2' } }, 'hadm2');
  await put({ resourceType: 'Location', id: 'wa-gs2', name: '二院普外病区', physicalType: { coding: [{ system: PHYS, code: 'wa' }] }, partOf: { reference: 'Location/bu2' }, managingOrganization: { reference: 'Organization/gs2' } }, 'hadm2');
  for (let i = 1; i <= 6; i++) await put({ ...bed(`c${i}`), partOf: { reference: 'Location/wa-gs2' } }, 'hadm2');
  await put({
    resourceType: 'ValueSet', id: 'ds-h2', url: 'https://fhir.yujian.org.cn/ValueSet/day-surgery-h2', status: 'active',
    compose: { include: [{ system: ICD9, concept: [{ code: '51.2301' }] }] },
  }, 'hadm2');
  for (const p of ['q1', 'q2', 'q3', 'q4', 'q5', 'p24']) await put({ resourceType: 'Patient', id: p, gender: 'male', birthDate: '1970-01-01' }, 'adm2');
  const emergency = async (patient, bedId) => {
    const r = await op('Encounter/$admit', { patient: `Patient/${patient}`, department: 'Organization/gs2', bed: `Location/${bedId}`, emergency: true }, 'adm2');
    assert.equal(r.status, 200, r.body);
    return out(r).encounter;
  };
  // a death: coded, and the death-case discussion is due within a week (18 core systems)
  const died = await emergency('q1', 'c1');
  const d1 = await op(`${died}/$discharge`, { disposition: 'exp' }, 'adm2');
  assert.equal(d1.status, 200, d1.body);
  assert.equal(out(d1).disposition, 'exp');
  const due = Date.parse(out(d1)['death-discussion-due']) - Date.now();
  assert.ok(due > 7 * DAY - 60000 && due <= 7 * DAY, String(due));
  const e1 = await read(died, 'adm2');
  assert.equal(e1.status, 'finished');
  assert.deepEqual([e1.hospitalization.dischargeDisposition.coding[0].system, e1.hospitalization.dischargeDisposition.coding[0].code, e1.hospitalization.dischargeDisposition.text],
    ['http://terminology.hl7.org/CodeSystem/discharge-disposition', 'exp', '死亡']);
  const t1 = (await http('GET', `${srv.base}/Task?encounter=${died}`, { headers: as('adm2') })).json.entry.map((x) => x.resource);
  assert.deepEqual(t1.map((t) => [t.code.coding[0].code, t.owner.reference]), [['death-case-discussion', 'Organization/gs2']]);
  assert.equal(Date.parse(t1[0].executionPeriod.end), Date.parse(out(d1)['death-discussion-due']));
  assert.equal((await read('Location/c1', 'adm2')).operationalStatus.code, 'cleaning');
  // left against advice
  const left = await emergency('q2', 'c2');
  assert.equal((await op(`${left}/$discharge`, { disposition: 'aadvice' }, 'adm2')).status, 200);
  assert.equal((await http('GET', `${srv.base}/Task?encounter=${left}`, { headers: as('adm2') })).json.total ?? 0, 0);
  // day surgery: going home needs the PADS score, leaving against advice does not; follow-ups either way
  const today = iso(Date.now() + 8 * HOUR).slice(0, 10); // China's day
  const dsNotice = (id, patient, date) => ({ ...notice(id, patient, { category: 'day-surgery', code: '51.2301' }), performer: [{ reference: 'Organization/gs2' }] });
  await put(dsNotice('ds2-1', 'q3'), 'adm2');
  assert.equal((await op('ServiceRequest/ds2-1/$book-day-surgery', { asa: 1, escort: true, date: today }, 'adm2')).status, 200);
  const ds = await op('Encounter/$admit', { request: 'ServiceRequest/ds2-1', bed: 'Location/c3' }, 'adm2');
  assert.equal(ds.status, 200, ds.body);
  const dsStay = out(ds).encounter;
  const home = await op(`${dsStay}/$discharge`, { disposition: 'home' }, 'adm2');
  assert.equal(home.status, 400, home.body);
  assert.equal((await op(`${dsStay}/$discharge`, { disposition: 'aadvice', pads: 11 }, 'adm2')).status, 400);
  const ds1 = await op(`${dsStay}/$discharge`, { disposition: 'aadvice' }, 'adm2');
  assert.equal(ds1.status, 200, ds1.body);
  assert.equal(out(ds1)['day-surgery'], 'within-24h');
  const followUps = (await http('GET', `${srv.base}/Task?encounter=${dsStay}`, { headers: as('adm2') })).json.entry;
  assert.deepEqual(followUps.map((x) => x.resource.code.coding[0].code).sort(), ['follow-up-24h', 'follow-up-7d']);
  // back as an emergency after day surgery: an unplanned readmission
  await emergency('q3', 'c4');
  // day surgery cancelled on its day, and one cancelled the day before its day
  await put(dsNotice('ds2-2', 'q4'), 'adm2');
  assert.equal((await op('ServiceRequest/ds2-2/$book-day-surgery', { asa: 1, escort: true, date: iso(Date.now()) }, 'adm2')).status, 200);
  await put(dsNotice('ds2-3', 'q5'), 'adm2');
  assert.equal((await op('ServiceRequest/ds2-3/$book-day-surgery', { asa: 1, escort: true, date: iso(Date.now() + DAY) }, 'adm2')).status, 200);
  for (const id of ['ds2-2', 'ds2-3']) assert.equal((await op(`ServiceRequest/${id}/$cancel-admission`, { reason: '患者发热' }, 'adm2')).status, 200);
  const period = iso(Date.now() + 8 * HOUR).slice(0, 7);
  const r = await http('GET', `${srv.base}/MeasureReport/$inpatient-indicators?period=${period}&level=hospital`, { headers: as('hadm2') });
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(r.json.entry.map((e) => e.resource.reporter.reference), ['Organization/h2']);
  const g = Object.fromEntries(r.json.entry[0].resource.group.map((x) => [x.code.coding[0].code, [x.population?.[0].count ?? x.measureScore.value, x.population?.[1].count]]));
  assert.deepEqual(g.deaths, [1, 3]);
  assert.deepEqual(g['self-discharges'], [2, 3]);
  assert.equal(g['average-stay-minutes'][1], 3);
  assert.ok(g['average-stay-minutes'][0] >= 0 && g['average-stay-minutes'][0] < 5, JSON.stringify(g));
  assert.deepEqual(g['day-surgery-readmissions'], [1, 1]);
  assert.deepEqual([g['day-surgery-same-day-cancellations'][0], g.cancellations[0]], [1, 2]);
  assert.equal(g.admissions[0], 4);
});

test('the sweep settles what lapses with time alone: a pre-admission past its window, a day-surgery stay past 24 hours', async () => {
  const lapsed = await pastPreAdmission('sw-out', 'p20', 6);
  // pre-admitted here a day ago, admitted at the second hospital since
  const elsewhere = await pastPreAdmission('sw-else', 'p24', 1);
  const other = await op('Encounter/$admit', { patient: 'Patient/p24', department: 'Organization/gs2', bed: 'Location/c6', emergency: true }, 'adm2');
  assert.equal(other.status, 200, other.body);
  const otherStart = (await read(out(other).encounter, 'adm2')).period.start;
  const open = await pastPreAdmission('sw-in', 'p21', 2);
  const day = { resourceType: 'Encounter', id: 'sw-day', status: 'in-progress', subject: { reference: 'Patient/p22' },
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'SS', display: 'short stay' },
    serviceProvider: { reference: 'Organization/gs' }, period: { start: iso(Date.now() - 25 * HOUR) } };
  await put(day);
  await put({ ...day, id: 'sw-day-ok', subject: { reference: 'Patient/p23' }, period: { start: iso(Date.now() - 2 * HOUR) } });
  await put(bed('b-sw'), 'hadm');
  await srv.stop();
  srv = await startServer({ dir: srv.dir, args: ['--inpatient-sweep', '1'] });
  let pre;
  for (let i = 0; i < 100; i++) {
    pre = await read(`Encounter/${lapsed}`);
    if (pre.status !== 'in-progress') break;
    await new Promise((done) => setTimeout(done, 50));
  }
  assert.equal(pre.status, 'finished', JSON.stringify(pre).slice(0, 300));
  assert.equal(pre.extension.find((x) => x.url === `${EXT}pre-admission-settlement`).valueCode, 'outpatient');
  // it ended when its window did, not when the sweep came by
  assert.equal(Date.parse(pre.period.end) - Date.parse(pre.period.start), 5 * DAY);
  const stay = await read('Encounter/sw-day');
  assert.equal(stay.class.code, 'IMP');
  assert.match(stay.extension.find((x) => x.url === `${EXT}day-surgery-converted`).valueString, /24/);
  // what has not lapsed is left alone
  assert.equal((await read(`Encounter/${open}`)).status, 'in-progress');
  assert.equal((await read('Encounter/sw-day-ok')).class.code, 'SS');
  // the lapsed one is no longer settled again at admission: it was settled when it lapsed
  const late = await op('Encounter/$admit', { request: 'ServiceRequest/sw-out', bed: 'Location/b-sw' });
  assert.equal(late.status, 200, late.body);
  assert.equal((await read(`Encounter/${lapsed}`)).meta.versionId, pre.meta.versionId);
  // each change is in the audit trail, by the sweep
  const trail = (await http('GET', `${srv.base}/AuditEvent?patient=p20&_count=100`)).body;
  assert.match(trail, /system:inpatient-sweep/);
  assert.match(trail, /pre-admission-lapsed/);
  // the one admitted elsewhere ended when that stay began, its costs outpatient costs, and the
  // queue says why
  const gone = await read(`Encounter/${elsewhere}`);
  assert.equal(gone.status, 'finished');
  assert.equal(Date.parse(gone.period.end), Date.parse(otherStart));
  assert.equal(gone.extension.find((x) => x.url === `${EXT}pre-admission-settlement`).valueCode, 'outpatient');
  assert.equal(gone.extension.find((x) => x.url === `${EXT}pre-admission-ended`).valueCode, 'admitted-elsewhere');
  const q = await queue();
  const entry = q.entries.find((e) => e.request === 'ServiceRequest/sw-else');
  assert.equal(entry['pre-admission'].find((x) => x.name === 'state').valueCode, 'admitted-elsewhere');
  assert.match((await http('GET', `${srv.base}/AuditEvent?patient=p24&_count=100`)).body, /pre-admission-admitted-elsewhere/);
});
