// access.test.mjs - whose records each caller reaches (src/fhir/access.h):
// two hospitals and a province's regulators over one patient, by every
// interaction. A hospital sees what it holds; another sees the patient only
// while a care relationship, a referral or the patient's grant lasts; a
// guardian sees the ward's records; a regulator sees its region's
// indicators and records only by an audited break-glass.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, http, addUser, login, tempDir } from './helpers.mjs';

const CUSTODIAN = 'https://fhir.yujian.org.cn/CodeSystem/custodian';
const GRANT = { coding: [{ system: 'https://fhir.yujian.org.cn/CodeSystem/consent-category', code: 'record-access' }] };
const ID_SYSTEM = 'https://fhir.yujian.org.cn/sid/cn-resident-id';
const held = (org) => ({ tag: [{ system: CUSTODIAN, code: `Organization/${org}` }] });

let srv, origin;
const tok = {};
const as = (who) => ({ Authorization: `Bearer ${tok[who]}` });
const users = [
  ['admA', 'admission', ['--org', 'Organization/h1']],
  ['labA', 'lab', ['--org', 'Organization/h1']],
  ['docA', 'doctor', ['--org', 'Organization/h1', '--subject', 'Practitioner/dA']],
  ['admB', 'admission', ['--org', 'Organization/h2']],
  ['docB', 'doctor', ['--org', 'Organization/h2', '--subject', 'Practitioner/dB']],
  ['labB', 'lab', ['--org', 'Organization/h2']],
  ['docC', 'doctor', ['--org', 'Organization/h3', '--subject', 'Practitioner/dC']],
  ['nobody', 'doctor', []],
  ['resP', 'resident', ['--subject', 'Patient/p']],
  ['resG', 'resident', ['--subject', 'Patient/g']],
  ['regZZ', 'regulator', ['--org', 'Organization/hc-410100']],
  ['regZK', 'regulator', ['--org', 'Organization/hc-411600']],
  ['regHN', 'regulator', ['--org', 'Organization/hc-410000']],
  ['hisA', 'system', ['--org', 'Organization/h1']],
];

const ids = (bundle) => (bundle.entry || []).filter((e) => e.search?.mode !== 'outcome').map((e) => `${e.resource.resourceType}/${e.resource.id}`).sort();
const day = 86400000;
const iso = (ms) => new Date(ms).toISOString();

before(async () => {
  const dir = tempDir();
  // account names are lower-case
  for (const [name, role, extra] of users) addUser(dir, name.toLowerCase(), role, `${name}-password`, extra);
  srv = await startServer({ dir });
  origin = srv.base.replace(/\/fhir$/, '');
  for (const [name] of users) tok[name] = (await login(origin, name.toLowerCase(), `${name}-password`)).access_token;
  // the tree: province > Zhengzhou (h1, h2) and Zhoukou (h3)
  const orgs = [['hc-410000', null], ['hc-410100', 'hc-410000'], ['hc-411600', 'hc-410000'], ['h1', 'hc-410100'], ['h2', 'hc-410100'], ['h3', 'hc-411600']];
  for (const [id, parent] of orgs) {
    const body = { resourceType: 'Organization', id, name: id, ...(parent ? { partOf: { reference: `Organization/${parent}` } } : {}) };
    assert.equal((await http('PUT', `${srv.base}/Organization/${id}`, { body })).status, 201);
  }
  // the minor g-kid and the guardian g were registered by h1; p by h1's admission centre
  for (const id of ['g', 'g-kid']) assert.equal((await http('PUT', `${srv.base}/Patient/${id}`, { body: { resourceType: 'Patient', id, meta: held('h1') } })).status, 201);
  assert.equal((await http('PUT', `${srv.base}/Observation/o-kid`, { body: { resourceType: 'Observation', id: 'o-kid', meta: held('h1'), status: 'final', code: { text: 'height' }, subject: { reference: 'Patient/g-kid' } } })).status, 201);
});
after(async () => { await srv.stop(); srv.cleanup(); });

let patient, obs;

test('a write is stamped with the writer\'s organisation, whatever tag the client sent', async () => {
  const p = await http('PUT', `${srv.base}/Patient/p`, { headers: as('admA'), body: { resourceType: 'Patient', id: 'p', meta: held('h2'), identifier: [{ system: ID_SYSTEM, value: '410102199001011234' }], name: [{ text: '王芳' }] } });
  assert.equal(p.status, 201, p.body);
  patient = p.json.id;
  assert.deepEqual(p.json.meta.tag, [{ system: CUSTODIAN, code: 'Organization/h1' }]);
  const o = await http('POST', `${srv.base}/Observation`, { headers: as('labA'), body: { resourceType: 'Observation', status: 'final', identifier: [{ system: 'urn:lab:h1', value: 'r1' }], code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] }, subject: { reference: `Patient/${patient}` } } });
  assert.equal(o.status, 201);
  obs = o.json.id;
  assert.equal(o.json.meta.tag[0].code, 'Organization/h1');
  const sys = await http('POST', `${srv.base}/Observation`, { headers: as('hisA'), body: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${patient}` } } });
  assert.equal(sys.json.meta.tag[0].code, 'Organization/h1', 'a system client bound to a hospital writes as that hospital');
  // an administrator's update that leaves the tag out keeps the custodian
  const cur = (await http('GET', `${srv.base}/Observation/${obs}`)).json;
  delete cur.meta;
  const upd = await http('PUT', `${srv.base}/Observation/${obs}`, { body: { ...cur, status: 'amended' } });
  assert.equal(upd.status, 200);
  assert.equal(upd.json.meta.tag[0].code, 'Organization/h1');
  const none = await http('POST', `${srv.base}/Observation`, { headers: as('nobody'), body: { resourceType: 'Observation', status: 'final', code: { text: 'x' } } });
  assert.equal(none.status, 403, 'staff without an organisation write nothing');
});

test('another hospital reaches nothing of the patient by any route, but finds them by exact identifier', async () => {
  const h = as('docB');
  assert.equal((await http('GET', `${srv.base}/Patient/${patient}`, { headers: h })).status, 403);
  assert.equal((await http('GET', `${srv.base}/Observation/${obs}`, { headers: h })).status, 403);
  assert.equal((await http('GET', `${srv.base}/Observation/${obs}/_history`, { headers: h })).status, 403);
  assert.equal((await http('GET', `${srv.base}/Observation/${obs}/_history/1`, { headers: h })).status, 403);
  assert.equal((await http('GET', `${srv.base}/Patient/${patient}/$everything`, { headers: h })).status, 403);
  assert.equal((await http('GET', `${srv.base}/Observation/_history`, { headers: h })).status, 403);
  for (const q of [`Observation?subject=Patient/${patient}`, 'Observation', `Observation?_id=${obs}`, 'Observation?subject:Patient.identifier=410102199001011234',
    'Patient?name=王芳', 'Patient?identifier=410102199001011234', 'Patient?_has:Observation:subject:code=2345-7', `Encounter?_include=Encounter:subject`]) {
    const r = await http('GET', `${srv.base}/${q}`, { headers: h });
    assert.equal(r.status, 200, q);
    assert.deepEqual(ids(r.json), [], q);
  }
  const count = await http('GET', `${srv.base}/Observation?_summary=count`, { headers: h });
  assert.equal(count.json.total, 0, 'counts leak nothing either');
  const lookup = await http('GET', `${srv.base}/Patient?identifier=${ID_SYSTEM}|410102199001011234`, { headers: h });
  assert.deepEqual(ids(lookup.json), [`Patient/${patient}`], 'the master patient index answers an exact identifier');
  // conditional interactions match only what the caller reaches
  const cc = await http('POST', `${srv.base}/Observation`, { headers: { ...h, 'If-None-Exist': 'identifier=urn:lab:h1|r1' }, body: { resourceType: 'Observation', status: 'final', code: { text: 'y' }, identifier: [{ system: 'urn:lab:h1', value: 'r1' }] } });
  assert.equal(cc.status, 201, 'If-None-Exist does not reveal another hospital\'s resource');
  const tx = await http('POST', srv.base, { headers: h, body: { resourceType: 'Bundle', type: 'batch', entry: [
    { request: { method: 'GET', url: `Observation/${obs}` } },
    { request: { method: 'DELETE', url: 'Observation?identifier=urn:lab:h1|r1' } },
  ] } });
  assert.equal(tx.json.entry[0].response.status.slice(0, 3), '403');
  // docB's conditional delete reached only docB's own copy
  assert.equal((await http('GET', `${srv.base}/Observation/${obs}`)).status, 200);
});

test('criteria about records out of reach are no oracle: _has, chains and a lookup with extras', async () => {
  // q was registered by h2; h1's lab tested q; there is no relationship between h2 and h1's record
  assert.equal((await http('PUT', `${srv.base}/Patient/q`, { headers: as('admB'), body: { resourceType: 'Patient', id: 'q', identifier: [{ system: ID_SYSTEM, value: '410102199202021111' }] } })).status, 201);
  assert.equal((await http('POST', `${srv.base}/Observation`, { headers: as('labA'), body: { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '75622-1' }] }, subject: { reference: 'Patient/q' } } })).status, 201);
  const h = as('docB');
  const mine = await http('GET', `${srv.base}/Patient?_id=q`, { headers: h });
  assert.deepEqual(ids(mine.json), ['Patient/q'], 'h2 holds q');
  for (const q of ['Patient?_has:Observation:subject:code=75622-1', 'Patient?_id=q&_has:Observation:patient:code=http://loinc.org|75622-1',
    `Patient?identifier=${ID_SYSTEM}|410102199001011234&_has:Observation:subject:code=2345-7`,
    `Patient?identifier=${ID_SYSTEM}|410102199001011234&name=王芳`]) {
    const r = await http('GET', `${srv.base}/${q}`, { headers: h });
    assert.equal(r.status, 200, q);
    assert.deepEqual(ids(r.json), [], `${q} reveals what h2 does not reach`);
  }
  const chained = await http('GET', `${srv.base}/Encounter?subject:Patient._has:Observation:subject:code=75622-1`, { headers: h });
  assert.deepEqual(ids(chained.json), []);
});

test('a care relationship shares the record while it lasts; the sharer\'s records stay read-only', async () => {
  const enc = await http('POST', `${srv.base}/Encounter`, { headers: as('admB'), body: { resourceType: 'Encounter', status: 'in-progress', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: { reference: `Patient/${patient}` } } });
  assert.equal(enc.status, 201);
  const h = as('docB');
  assert.equal((await http('GET', `${srv.base}/Observation/${obs}`, { headers: h })).status, 200);
  assert.equal((await http('GET', `${srv.base}/Patient/${patient}`, { headers: h })).status, 200);
  const s = await http('GET', `${srv.base}/Observation?subject=Patient/${patient}&code=2345-7`, { headers: h });
  assert.deepEqual(ids(s.json), [`Observation/${obs}`]);
  const ev = await http('GET', `${srv.base}/Patient/${patient}/$everything`, { headers: h });
  assert.ok(ids(ev.json).includes(`Observation/${obs}`));
  // reading is not changing: h1's result stays h1's
  const cur = (await http('GET', `${srv.base}/Observation/${obs}`, { headers: h })).json;
  const put = await http('PUT', `${srv.base}/Observation/${obs}`, { headers: h, body: { ...cur, status: 'cancelled' } });
  assert.equal(put.status, 403, put.body);
  const patch = await http('PATCH', `${srv.base}/Observation/${obs}`, { headers: { ...h, 'Content-Type': 'application/json-patch+json' }, body: [{ op: 'replace', path: '/status', value: 'cancelled' }] });
  assert.equal(patch.status, 403);
  const del = await http('DELETE', `${srv.base}/Observation/${obs}`, { headers: as('labB') });
  assert.equal(del.status, 403);
  // an outsider's patch "test" or If-Match must not tell values or versions
  const probe = await http('PATCH', `${srv.base}/Observation/${obs}`, { headers: { ...as('docC'), 'Content-Type': 'application/json-patch+json' }, body: [{ op: 'test', path: '/status', value: 'no-such-status' }] });
  assert.equal(probe.status, 403, probe.body);
  const stale = await http('PUT', `${srv.base}/Observation/${obs}`, { headers: { ...as('docC'), 'If-Match': 'W/"999"' }, body: { ...cur, status: 'cancelled' } });
  assert.equal(stale.status, 403, 'not 412: the version is not revealed');
  const txn = await http('POST', srv.base, { headers: h, body: { resourceType: 'Bundle', type: 'transaction', entry: [
    { resource: { resourceType: 'Observation', status: 'final', code: { text: 'z' }, subject: { reference: `Patient/${patient}` } }, request: { method: 'POST', url: 'Observation' } },
    { resource: { ...cur, status: 'cancelled' }, request: { method: 'PUT', url: `Observation/${obs}` } },
  ] } });
  assert.equal(txn.status, 403, txn.body);
  const after = (await http('GET', `${srv.base}/Observation/${obs}`)).json;
  assert.equal(after.meta.versionId, cur.meta.versionId, 'nothing of the refused writes reached the store');
  assert.equal((await http('GET', `${srv.base}/Observation?code=z`)).json.total ?? 0, 0, 'the transaction left nothing behind');
  // the encounter ends: so does the access
  const done = await http('PUT', `${srv.base}/Encounter/${enc.json.id}`, { headers: as('admB'), body: { ...enc.json, status: 'finished' } });
  assert.equal(done.status, 200);
  assert.equal((await http('GET', `${srv.base}/Observation/${obs}`, { headers: h })).status, 403);
});

test('a referral shares the record with the hospital it is addressed to, while active', async () => {
  const sr = await http('POST', `${srv.base}/ServiceRequest`, { headers: as('docA'), body: { resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject: { reference: `Patient/${patient}` }, performer: [{ reference: 'Organization/h3' }] } });
  assert.equal(sr.status, 201);
  assert.equal((await http('GET', `${srv.base}/Observation/${obs}`, { headers: as('docC') })).status, 200);
  assert.equal((await http('GET', `${srv.base}/Observation/${obs}`, { headers: as('docB') })).status, 403, 'not the other hospitals');
  assert.equal((await http('PUT', `${srv.base}/ServiceRequest/${sr.json.id}`, { headers: as('docA'), body: { ...sr.json, status: 'revoked' } })).status, 200);
  assert.equal((await http('GET', `${srv.base}/Observation/${obs}`, { headers: as('docC') })).status, 403);
});

test('a resident grants a hospital access for a period, and withdraws it', async () => {
  const now = Date.now();
  const grant = (actor, start, end, extra = {}) => ({ resourceType: 'Consent', status: 'active', category: [GRANT], scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    patient: { reference: `Patient/${patient}` }, provision: { type: 'permit', period: { start: iso(start), end: iso(end) }, actor: [{ role: { text: 'grantee' }, reference: { reference: actor } }] }, ...extra });
  // not someone else's record
  const foreign = await http('POST', `${srv.base}/Consent`, { headers: as('resG'), body: grant('Organization/h2', now - day, now + day) });
  assert.equal(foreign.status, 403);
  // a period already over grants nothing
  const old = await http('POST', `${srv.base}/Consent`, { headers: as('resP'), body: grant('Organization/h2', now - 3 * day, now - 2 * day) });
  assert.equal(old.status, 201, old.body);
  assert.equal((await http('GET', `${srv.base}/Observation/${obs}`, { headers: as('docB') })).status, 403);
  const denying = grant('Organization/h2', now - day, now + day);
  denying.provision.type = 'deny';
  assert.equal((await http('POST', `${srv.base}/Consent`, { headers: as('resP'), body: denying })).status, 422);
  const c = await http('POST', `${srv.base}/Consent`, { headers: as('resP'), body: grant('Organization/h2', now - day, now + day) });
  assert.equal(c.status, 201);
  assert.equal((await http('GET', `${srv.base}/Observation/${obs}`, { headers: as('docB') })).status, 200);
  const mine = await http('GET', `${srv.base}/Consent`, { headers: as('resP') });
  assert.equal(mine.json.entry.length, 2);
  // withdrawn by its status
  const off = await http('PUT', `${srv.base}/Consent/${c.json.id}`, { headers: as('resP'), body: { ...c.json, status: 'inactive' } });
  assert.equal(off.status, 200, off.body);
  assert.equal((await http('GET', `${srv.base}/Observation/${obs}`, { headers: as('docB') })).status, 403);
  // a grant to one doctor (the Practitioner of the account)
  const toDoctor = await http('POST', `${srv.base}/Consent`, { headers: as('resP'), body: grant('Practitioner/dB', now - day, now + day) });
  assert.equal(toDoctor.status, 201);
  assert.equal((await http('GET', `${srv.base}/Observation/${obs}`, { headers: as('docB') })).status, 200);
  assert.equal((await http('GET', `${srv.base}/Observation/${obs}`, { headers: as('labB') })).status, 403, 'only that doctor');
  assert.equal((await http('DELETE', `${srv.base}/Consent/${toDoctor.json.id}`, { headers: as('resP') })).status, 204);
  assert.equal((await http('GET', `${srv.base}/Observation/${obs}`, { headers: as('docB') })).status, 403);
});

test('a guardian sees the ward\'s records once granted, and no one else\'s', async () => {
  const h = as('resG');
  assert.equal((await http('GET', `${srv.base}/Observation/o-kid`, { headers: h })).status, 403);
  const now = Date.now();
  const g = await http('POST', `${srv.base}/Consent`, { headers: as('admA'), body: { resourceType: 'Consent', status: 'active', category: [GRANT], scope: { text: 'guardian' }, patient: { reference: 'Patient/g-kid' },
    provision: { type: 'permit', period: { start: iso(now - day) }, actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'GUARD' }] }, reference: { reference: 'Patient/g' } }] } } });
  assert.equal(g.status, 201, g.body);
  assert.equal((await http('GET', `${srv.base}/Observation/o-kid`, { headers: h })).status, 200);
  const all = await http('GET', `${srv.base}/Observation`, { headers: h });
  assert.deepEqual(ids(all.json), ['Observation/o-kid']);
  const pats = await http('GET', `${srv.base}/Patient`, { headers: h });
  assert.deepEqual(ids(pats.json), ['Patient/g', 'Patient/g-kid']);
  assert.equal((await http('GET', `${srv.base}/Patient/${patient}`, { headers: h })).status, 403);
});

test('regulators see their region\'s indicators; records only by an audited break-glass', async () => {
  for (const [id, reporter] of [['mr-h1', 'h1'], ['mr-h3', 'h3'], ['mr-zz', 'hc-410100']]) {
    const body = { resourceType: 'MeasureReport', id, status: 'complete', type: 'summary', measure: 'Measure/recognition-rate', period: { start: '2026-10-01', end: '2026-10-31' }, reporter: { reference: `Organization/${reporter}` } };
    assert.equal((await http('PUT', `${srv.base}/MeasureReport/${id}`, { body })).status, 201);
  }
  const mr = async (who) => ids((await http('GET', `${srv.base}/MeasureReport`, { headers: as(who) })).json);
  assert.deepEqual(await mr('regZZ'), ['MeasureReport/mr-h1', 'MeasureReport/mr-zz']);
  assert.deepEqual(await mr('regZK'), ['MeasureReport/mr-h3']);
  assert.deepEqual(await mr('regHN'), ['MeasureReport/mr-h1', 'MeasureReport/mr-h3', 'MeasureReport/mr-zz']);
  assert.equal((await http('GET', `${srv.base}/MeasureReport/mr-h3`, { headers: as('regZZ') })).status, 403);
  assert.equal((await http('GET', `${srv.base}/Organization/h3`, { headers: as('regZZ') })).status, 200, 'the directory is open');
  // aggregates: counts over what the region's institutions hold, never the records
  const held = async (orgs) => (await http('GET', `${srv.base}/Observation?_summary=count&_tag=${orgs.map((o) => `${CUSTODIAN}|Organization/${o}`).join(',')}`)).json.total;
  const count = async (who, q = '') => (await http('GET', `${srv.base}/Observation?_summary=count${q}`, { headers: as(who) })).json.total;
  const zz = await held(['h1', 'h2']);
  assert.ok(zz >= 3);
  assert.equal(await count('regZZ'), zz, 'Zhengzhou counts h1 and h2');
  assert.equal(await count('regZK'), await held(['h3']), 'Zhoukou counts h3 only');
  assert.equal(await count('regHN'), await held(['h1', 'h2', 'h3']), 'the province counts all three');
  assert.equal(await count('regZZ', '&code=2345-7'), await (async () => (await http('GET', `${srv.base}/Observation?_summary=count&code=2345-7&_tag=${CUSTODIAN}|Organization/h1,${CUSTODIAN}|Organization/h2`)).json.total)());
  const noRows = await http('GET', `${srv.base}/Observation?_summary=count&_include=Observation:subject`, { headers: as('regZZ') });
  assert.deepEqual(noRows.json.entry || [], [], 'a count carries no records');
  const refused = await http('GET', `${srv.base}/Observation?subject=Patient/${patient}`, { headers: as('regZZ') });
  assert.equal(refused.status, 403);
  assert.match(refused.json.issue[0].diagnostics, /X-Break-Glass/);
  assert.equal((await http('GET', `${srv.base}/Observation/${obs}`, { headers: { ...as('regZZ'), 'X-Break-Glass': 'no' } })).status, 400, 'a reason is needed');
  assert.equal((await http('GET', `${srv.base}/Observation/${obs}`, { headers: { ...as('labB'), 'X-Break-Glass': 'curious about it' } })).status, 403, 'not every role may break the glass');
  const reason = 'complaint 2026-118 review';
  const btg = await http('GET', `${srv.base}/Observation/${obs}`, { headers: { ...as('regZZ'), 'X-Break-Glass': reason } });
  assert.equal(btg.status, 200);
  assert.equal((await http('DELETE', `${srv.base}/Observation/${obs}`, { headers: { ...as('regZZ'), 'X-Break-Glass': reason } })).status, 403, 'break-glass reads; it does not write');
  // an emergency doctor with no relationship to the patient
  assert.equal((await http('GET', `${srv.base}/Patient/${patient}/$everything`, { headers: { ...as('docC'), 'X-Break-Glass': 'unconscious patient in ED' } })).status, 200);
  await new Promise((r) => setTimeout(r, 300));
  const trail = await http('GET', `${srv.base}/AuditEvent?patient=${patient}&_count=1000`, { headers: as('resP') });
  const glass = trail.json.entry.map((e) => e.resource).filter((e) => e.agent[0].purposeOfUse?.[0]?.coding?.[0]?.code === 'BTG');
  assert.ok(glass.some((e) => e.agent[0].who.identifier.value === 'regzz' && e.agent[0].purposeOfUse[0].text === reason), 'the patient sees the break-glass and its reason');
  assert.ok(glass.some((e) => e.agent[0].who.identifier.value === 'docc'));
  assert.equal((await http('GET', `${srv.base}/AuditEvent`, { headers: as('docA') })).status, 403, 'staff do not read the audit trail');
});
