// search_advanced.test.mjs - chains, _has, _include/_revinclude, _sort,
// _summary, _elements and the ap prefix (FHIR R4 search.html) against the
// real binary.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, http } from './helpers.mjs';

let srv;
const matches = (b) => (b.entry || []).filter((e) => e.search.mode === 'match').map((e) => e.resource.id);
const included = (b) => (b.entry || []).filter((e) => e.search.mode === 'include')
  .map((e) => `${e.resource.resourceType}/${e.resource.id}`).sort();
const get = async (q, headers = {}) => {
  const r = await http('GET', `${srv.base}/${q}`, { headers });
  assert.equal(r.status, 200, `${q}: ${r.body}`);
  return r.json;
};
const status = async (q) => (await http('GET', `${srv.base}/${q}`)).status;

before(async () => {
  srv = await startServer();
  const put = async (res) => {
    const r = await http('PUT', `${srv.base}/${res.resourceType}/${res.id}`, { body: res });
    assert.ok([200, 201].includes(r.status), r.body);
  };
  await put({ resourceType: 'Organization', id: 'h1', name: '郑州大学第一附属医院', identifier: [{ system: 'urn:org', value: 'ZZU1' }] });
  await put({ resourceType: 'Organization', id: 'h2', name: '河南省人民医院', identifier: [{ system: 'urn:org', value: 'HNPH' }] });
  const pat = (id, family, birthDate, org) => ({ resourceType: 'Patient', id, birthDate, name: [{ family }],
    gender: 'female', managingOrganization: { reference: `Organization/${org}` },
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' } });
  await put(pat('a', 'Zhao', '1970-01-01', 'h1'));
  await put(pat('b', 'Qian', '1990-06-01', 'h1'));
  await put(pat('c', 'Sun', '1985-03-03', 'h2'));
  await put({ resourceType: 'Patient', id: 'd', name: [{ family: 'Li' }] }); // no birthDate
  const obs = (id, subject, code, value, org) => ({ resourceType: 'Observation', id, status: 'final',
    subject: { reference: `Patient/${subject}` }, performer: [{ reference: `Organization/${org}` }],
    code: { coding: [{ system: 'http://loinc.org', code }] }, valueQuantity: { value } });
  await put(obs('o1', 'a', '2345-7', 100, 'h1'));
  await put(obs('o2', 'b', '2345-7', 200, 'h1'));
  await put(obs('o3', 'c', '718-7', 95, 'h2'));
  await put({ resourceType: 'DiagnosticReport', id: 'r1', status: 'final', code: { text: 'panel' },
    subject: { reference: 'Patient/a' }, result: [{ reference: 'Observation/o1' }] });
});
after(async () => { await srv.stop(); srv.cleanup(); });

test('chained parameters: one and two levels, with and without the type', async () => {
  assert.deepEqual(matches(await get('Observation?subject:Patient.family=zhao')), ['o1']);
  assert.deepEqual(matches(await get('Observation?subject.family=qian')), ['o2'], 'targets that have the parameter');
  assert.deepEqual(matches(await get('Observation?subject:Patient.organization:Organization.identifier=urn:org|ZZU1')).sort(),
    ['o1', 'o2'], 'two levels');
  assert.deepEqual(matches(await get(`Observation?subject:Patient.organization.name=${encodeURIComponent('河南')}`)), ['o3']);
  assert.deepEqual(matches(await get('Observation?subject:Patient.family=nobody')), []);
  assert.deepEqual(matches(await get('Observation?subject:Patient.family=zhao,sun')).sort(), ['o1', 'o3'], 'OR inside a chain');
  assert.equal(await status('Observation?code.family=x'), 400, 'a token cannot be chained');
  assert.equal(await status('Observation?subject:Patient.organization:Organization.partof:Organization.name=x'), 400, 'too deep');
});

test('_has: reverse chaining, nested', async () => {
  assert.deepEqual(matches(await get('Patient?_has:Observation:subject:code=2345-7')).sort(), ['a', 'b']);
  assert.deepEqual(matches(await get('Patient?_has:Observation:subject:code=718-7')), ['c']);
  assert.deepEqual(matches(await get('Patient?_has:Observation:subject:_has:DiagnosticReport:result:status=final')), ['a']);
  assert.deepEqual(matches(await get('Organization?_has:Patient:organization:family=sun')), ['h2']);
  const count = await get('Patient?_has:Observation:subject:code=2345-7&_summary=count');
  assert.equal(count.total, 2);
  assert.equal(await status('Patient?_has:Observation:code:code=x'), 400, 'code is not a reference');
  assert.equal(await status('Patient?_has:Nothing:subject:code=x'), 400);
});

test('_include and _revinclude, :iterate and *', async () => {
  let b = await get('Observation?code=2345-7&_include=Observation:subject');
  assert.deepEqual(matches(b).sort(), ['o1', 'o2']);
  assert.deepEqual(included(b), ['Patient/a', 'Patient/b']);
  assert.equal(b.total, 2, 'the total counts matches only');
  b = await get('Observation?_id=o1&_include=Observation:subject:Organization');
  assert.deepEqual(included(b), [], 'target type filter');
  b = await get('Observation?_id=o1&_include=*');
  assert.deepEqual(included(b), ['Organization/h1', 'Patient/a']);
  b = await get('Patient?_id=a&_revinclude=Observation:subject');
  assert.deepEqual(included(b), ['Observation/o1']);
  b = await get('Patient?_id=a&_revinclude=Observation:subject&_revinclude:iterate=DiagnosticReport:result');
  assert.deepEqual(included(b), ['DiagnosticReport/r1', 'Observation/o1']);
  b = await get('Patient?_id=a&_revinclude=Observation:subject&_revinclude=DiagnosticReport:result');
  assert.deepEqual(included(b), ['Observation/o1'], 'without :iterate only from the matches');
  b = await get('Observation?code=2345-7&_include=Observation:subject&_include:iterate=Patient:organization');
  assert.deepEqual(included(b), ['Organization/h1', 'Patient/a', 'Patient/b'], 'each resource once');
  assert.equal(await status('Observation?_include=Observation:code'), 400, 'not a reference');
});

test('_sort: ascending, descending, several keys, missing values last, offset paging', async () => {
  assert.deepEqual(matches(await get('Patient?_sort=birthdate')), ['a', 'c', 'b', 'd']);
  assert.deepEqual(matches(await get('Patient?_sort=-birthdate')), ['b', 'c', 'a', 'd']);
  assert.deepEqual(matches(await get('Patient?_sort=organization,family')), ['b', 'a', 'c', 'd']);
  assert.deepEqual(matches(await get('Patient?_sort=organization,-family')), ['a', 'b', 'c', 'd']);
  assert.deepEqual(matches(await get('Observation?_sort=-value-quantity')), ['o2', 'o1', 'o3']);
  assert.deepEqual(matches(await get('Patient?_sort=_id')), ['a', 'b', 'c', 'd']);
  const p1 = await get('Patient?_sort=birthdate&_count=2');
  assert.deepEqual(matches(p1), ['a', 'c']);
  const next = p1.link.find((l) => l.relation === 'next').url;
  const p2 = await (await fetch(next)).json();
  assert.deepEqual(matches(p2), ['b', 'd']);
  const prev = p2.link.find((l) => l.relation === 'previous').url;
  assert.deepEqual(matches(await (await fetch(prev)).json()), ['a', 'c']);
  assert.equal(await status('Patient?_sort=nonsense'), 400);
});

test('_summary and _elements cut resources and mark them SUBSETTED', async () => {
  const subsetted = (r) => (r.meta.tag || []).some((t) => t.code === 'SUBSETTED');
  let b = await get('Patient?_id=a&_summary=true');
  let r = b.entry[0].resource;
  assert.ok(r.name && r.birthDate && r.managingOrganization, 'summary elements stay');
  assert.equal(r.text, undefined, 'text is not a summary element');
  assert.ok(subsetted(r));
  b = await get('Patient?_id=a&_summary=text');
  r = b.entry[0].resource;
  assert.ok(r.text && r.id && r.meta);
  assert.equal(r.name, undefined);
  b = await get('Patient?_id=a&_summary=data');
  r = b.entry[0].resource;
  assert.equal(r.text, undefined);
  assert.ok(r.name && r.gender);
  b = await get('Patient?_id=a&_summary=false');
  assert.ok(b.entry[0].resource.text && !subsetted(b.entry[0].resource));
  b = await get('Patient?_id=a&_elements=birthDate,gender');
  r = b.entry[0].resource;
  assert.deepEqual(Object.keys(r).sort(), ['birthDate', 'gender', 'id', 'meta', 'resourceType']);
  assert.ok(subsetted(r));
  assert.equal(await status('Patient?_summary=maybe'), 400);
});

test('ap: approximately, within 10%', async () => {
  assert.deepEqual(matches(await get('Observation?value-quantity=ap105')).sort(), ['o1', 'o3']);
  assert.deepEqual(matches(await get('Observation?value-quantity=ap200')), ['o2']);
  assert.deepEqual(matches(await get('Patient?birthdate=ap1970-01-02')), ['a']);
});

test('an unknown token modifier is reported; strict makes an unusable one 400', async () => {
  const b = await get('Patient?gender:frob=female');
  const outcome = b.entry.find((e) => e.search.mode === 'outcome');
  assert.match(outcome.resource.issue[0].diagnostics, /not a token modifier/);
  const strict = await http('GET', `${srv.base}/Patient?gender:in=http://x`, { headers: { Prefer: 'handling=strict' } });
  assert.equal(strict.status, 400);
});

test('Patient/$everything: the compartment and what it refers to, _type, _since, _count', async () => {
  const all = await get('Patient/a/$everything');
  const refs = all.entry.map((e) => `${e.resource.resourceType}/${e.resource.id}`).sort();
  assert.deepEqual(refs, ['DiagnosticReport/r1', 'Observation/o1', 'Organization/h1', 'Patient/a']);
  assert.equal(all.total, 4);
  const typed = await get('Patient/a/$everything?_type=Observation,Patient');
  assert.deepEqual(typed.entry.map((e) => e.resource.resourceType).sort(), ['Observation', 'Patient']);
  const future = new Date(Date.now() + 3600e3).toISOString();
  const since = await get(`Patient/a/$everything?_since=${encodeURIComponent(future)}`);
  assert.equal(since.total, 0);
  const cut = await get('Patient/a/$everything?_count=2');
  assert.equal(cut.entry.filter((e) => e.search.mode === 'match').length, 2);
  assert.ok(cut.entry.some((e) => e.search.mode === 'outcome'), 'says it was cut short');
  assert.equal(await status('Patient/nobody/$everything'), 404);
  assert.equal(await status('Patient/a/$everything?_type=Nothing'), 400);
});

test('$reindex: runs online, reports progress, searches keep working', async () => {
  const started = await http('POST', `${srv.base}/$reindex`);
  assert.equal(started.status, 202, started.body);
  assert.equal(started.json.resourceType, 'Parameters');
  let status;
  for (let i = 0; i < 200; i++) {
    const r = await http('GET', `${srv.base}/$reindex`);
    status = Object.fromEntries(r.json.parameter.map((p) => [p.name, Object.values(p)[1]]));
    assert.deepEqual(matches(await get('Observation?subject:Patient.family=zhao')), ['o1'], 'searches work meanwhile');
    if (status.status !== 'running') break;
    await new Promise((res) => setTimeout(res, 50));
  }
  assert.equal(status.status, 'done');
  assert.equal(status.done, status.total);
  assert.ok(status.total >= 9, JSON.stringify(status));
  assert.equal((await http('DELETE', `${srv.base}/$reindex`)).status, 405);
});
