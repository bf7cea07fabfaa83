// search.test.mjs - FHIR search (search.html) against the real binary: each
// parameter type, prefixes, modifiers, paging, totals, lenient and strict
// handling of unknown parameters, and index maintenance on update/delete.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, http } from './helpers.mjs';

let srv;
const ids = (b) => (b.entry || []).filter((e) => e.search.mode === 'match').map((e) => e.resource.id).sort();
const get = async (q) => {
  const r = await http('GET', `${srv.base}/${q}`);
  assert.equal(r.status, 200, `${q}: ${r.body}`);
  assert.equal(r.json.type, 'searchset');
  return r.json;
};

before(async () => {
  srv = await startServer();
  const put = (res) => http('PUT', `${srv.base}/${res.resourceType}/${res.id}`, { body: res });
  const patients = [
    { id: 'p1', gender: 'male', birthDate: '1980-05-01', name: [{ family: 'Wang', given: ['Wei'] }, { text: '王伟' }],
      identifier: [{ system: 'urn:id:cn', value: '410102198005010011' }], active: true },
    { id: 'p2', gender: 'female', birthDate: '1992-11-20', name: [{ family: 'Li', given: ['Na'] }, { text: '李娜' }],
      identifier: [{ system: 'urn:id:cn', value: '410102199211200022' }, { system: 'urn:mrn', value: 'M-2' }] },
    { id: 'p3', gender: 'female', birthDate: '1980', name: [{ family: 'Wangsa' }],
      address: [{ city: '郑州', state: '河南省' }] },
  ];
  for (const p of patients) assert.ok([200, 201].includes((await put({ resourceType: 'Patient', ...p })).status));
  const obs = (id, subject, code, value, when) => ({
    resourceType: 'Observation', id, status: 'final', subject: { reference: `Patient/${subject}` },
    code: { coding: [{ system: 'http://loinc.org', code }] }, effectiveDateTime: when,
    valueQuantity: { value, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
  });
  await put(obs('o1', 'p1', '2345-7', 5.6, '2024-03-01T08:00:00+08:00'));
  await put(obs('o2', 'p1', '2345-7', 7.2, '2024-06-15T09:30:00+08:00'));
  await put(obs('o3', 'p2', '2345-7', 4.1, '2023-12-31T23:00:00Z'));
  await put(obs('o4', 'p2', '718-7', 135, '2024-06-15T10:00:00+08:00'));
});
after(async () => { await srv.stop(); srv.cleanup(); });

test('token: code, system|code, |code, system|, :not, :missing', async () => {
  assert.deepEqual(ids(await get('Patient?gender=female')), ['p2', 'p3']);
  assert.deepEqual(ids(await get('Patient?identifier=urn:id:cn|410102198005010011')), ['p1']);
  assert.deepEqual(ids(await get('Patient?identifier=410102199211200022')), ['p2']);
  assert.deepEqual(ids(await get('Patient?identifier=urn:mrn|')), ['p2']);
  assert.deepEqual(ids(await get('Patient?identifier=|M-2')), [], 'M-2 has a system');
  assert.deepEqual(ids(await get('Patient?gender:not=female')), ['p1']);
  assert.deepEqual(ids(await get('Patient?identifier:missing=true')), ['p3']);
  assert.deepEqual(ids(await get('Patient?active=true')), ['p1']);
  assert.deepEqual(ids(await get('Observation?code=http://loinc.org|2345-7')), ['o1', 'o2', 'o3']);
  // a code bound (required) to one code system carries that system implicitly, as in HAPI
  assert.deepEqual(ids(await get(`Patient?gender=${encodeURIComponent('http://hl7.org/fhir/administrative-gender|female')}`)), ['p2', 'p3']);
  assert.deepEqual(ids(await get(`Patient?gender=${encodeURIComponent('http://example.org/other|female')}`)), []);
  assert.deepEqual(ids(await get('Patient?gender=|female')), [], 'gender has a system, so "no system" does not match');
  assert.deepEqual(ids(await get(`Observation?status=${encodeURIComponent('http://hl7.org/fhir/observation-status|final')}&code=2345-7`)), ['o1', 'o2', 'o3']);
  assert.deepEqual(ids(await get(`Patient?gender:not=${encodeURIComponent('http://hl7.org/fhir/administrative-gender|female')}`)), ['p1']);
});

test('token: an escaped | (\\|) is part of the system or code, not a separator', async () => {
  const put = await http('PUT', `${srv.base}/Patient/bar1`, {
    body: { resourceType: 'Patient', id: 'bar1', identifier: [{ system: 'urn:a|b', value: 'A|7' }] },
  });
  assert.ok([200, 201].includes(put.status), put.body);
  const q = (v) => get(`Patient?identifier=${encodeURIComponent(v)}`);
  assert.deepEqual(ids(await q('urn:a\\|b|A\\|7')), ['bar1']);
  assert.deepEqual(ids(await q('A\\|7')), ['bar1'], 'the code alone, any system');
  assert.deepEqual(ids(await q('urn:a\\|b|')), ['bar1'], 'the system alone');
  assert.deepEqual(ids(await q('urn:a|b|A\\|7')), [], 'unescaped, the system is "urn:a"');
  assert.ok([200, 204].includes((await http('DELETE', `${srv.base}/Patient/bar1`)).status));
});

test('string: prefix, case-insensitive, :exact, :contains, Chinese text', async () => {
  assert.deepEqual(ids(await get('Patient?family=wang')), ['p1', 'p3']);
  assert.deepEqual(ids(await get('Patient?family:exact=Wang')), ['p1']);
  assert.deepEqual(ids(await get('Patient?family:exact=wang')), []);
  assert.deepEqual(ids(await get('Patient?name:contains=ngs')), ['p3']);
  assert.deepEqual(ids(await get(`Patient?name=${encodeURIComponent('李')}`)), ['p2']);
  assert.deepEqual(ids(await get(`Patient?address-city=${encodeURIComponent('郑州')}`)), ['p3']);
});

test('reference: Type/id, bare id, :Type, absolute URL', async () => {
  assert.deepEqual(ids(await get('Observation?subject=Patient/p1')), ['o1', 'o2']);
  assert.deepEqual(ids(await get('Observation?patient=p2')), ['o3', 'o4']);
  assert.deepEqual(ids(await get('Observation?subject:Patient=p2')), ['o3', 'o4']);
  assert.deepEqual(ids(await get(`Observation?subject=${encodeURIComponent('http://elsewhere/fhir/Patient/p1')}`)), ['o1', 'o2']);
  const r = await http('GET', `${srv.base}/Provenance?target=x1`);
  assert.equal(r.status, 400, 'a bare id needs a type when the parameter has many targets');
});

test('date: precision ranges and prefixes', async () => {
  assert.deepEqual(ids(await get('Patient?birthdate=1980')), ['p1', 'p3'], 'the year 1980 contains 1980-05-01 (search.html: eq)');
  assert.deepEqual(ids(await get('Patient?birthdate=1980-05-01')), ['p1']);
  assert.deepEqual(ids(await get('Patient?birthdate=ge1990')), ['p2']);
  assert.deepEqual(ids(await get('Patient?birthdate=lt1981')), ['p1', 'p3']);
  assert.deepEqual(ids(await get('Observation?date=2024-06')), ['o2', 'o4']);
  assert.deepEqual(ids(await get('Observation?date=lt2024-01-01')), ['o3']);
  assert.deepEqual(ids(await get('Observation?date=ge2024-03-01&date=le2024-03-31')), ['o1']);
  assert.deepEqual(ids(await get('Observation?date=sa2024-03-01')), ['o2', 'o4']);
  assert.deepEqual(ids(await get('Observation?date=eb2024-01-01')), ['o3']);
  assert.deepEqual(ids(await get('Observation?date=ne2024-06')), ['o1', 'o3']);
  // time zones: 2023-12-31T23:00Z is 2024-01-01 07:00 in Shanghai, still 2023 in UTC
  assert.deepEqual(ids(await get(`Observation?date=${encodeURIComponent('2024-01-01T07:00:00+08:00')}`)), ['o3']);
  assert.equal((await http('GET', `${srv.base}/Patient?birthdate=notadate`)).status, 400);
});

test('quantity and number: implicit precision ranges, prefixes, units', async () => {
  assert.deepEqual(ids(await get('Observation?value-quantity=5.6')), ['o1']);
  assert.deepEqual(ids(await get('Observation?value-quantity=6')), ['o1'], '6 means [5.5, 6.5)');
  assert.deepEqual(ids(await get('Observation?value-quantity=gt5|http://unitsofmeasure.org|mmol/L')), ['o1', 'o2', 'o4']);
  assert.deepEqual(ids(await get('Observation?value-quantity=lt5&code=2345-7')), ['o3']);
  assert.deepEqual(ids(await get('Observation?value-quantity=ge7.2||mmol/L')), ['o2', 'o4']);
  assert.equal((await http('GET', `${srv.base}/Observation?value-quantity=lots`)).status, 400);
});

test('_id, _lastUpdated, OR with commas, AND with repeats', async () => {
  assert.deepEqual(ids(await get('Patient?_id=p1,p3')), ['p1', 'p3']);
  assert.deepEqual(ids(await get('Patient?_id=p1&gender=female')), []);
  const now = new Date(Date.now() + 60000).toISOString();
  assert.deepEqual(ids(await get(`Patient?_lastUpdated=lt${encodeURIComponent(now)}`)), ['p1', 'p2', 'p3']);
  assert.deepEqual(ids(await get(`Patient?_lastUpdated=gt${encodeURIComponent(now)}`)), []);
  assert.deepEqual(ids(await get('Observation?code=2345-7,718-7&subject=Patient/p2')), ['o3', 'o4']);
});

test('paging: _count, stable next links, totals, _summary=count', async () => {
  const first = await get('Observation?_count=2');
  assert.equal(first.entry.length, 2);
  assert.equal(first.total, undefined, 'no cheap exact total when there is a next page');
  const next = first.link.find((l) => l.relation === 'next').url;
  // a write between pages does not shift them
  await http('PUT', `${srv.base}/Observation/o0`, { body: { resourceType: 'Observation', id: 'o0', status: 'final', code: { text: 'x' } } });
  const second = await (await fetch(next)).json();
  const seen = [...first.entry, ...second.entry].map((e) => e.resource.id);
  assert.equal(new Set(seen).size, seen.length, 'no entry twice');
  const all = await get('Observation?_count=100');
  assert.equal(all.total, all.entry.length);
  const accurate = await get('Observation?_count=1&_total=accurate');
  assert.equal(accurate.total, all.total);
  const zero = await get('Observation?code=2345-7&_count=0');
  assert.equal(zero.total, 3, '_count=0 gives the total only');
  assert.equal(zero.entry, undefined);
  assert.equal(zero.link.find((l) => l.relation === 'next'), undefined);
  const count = await get('Observation?code=2345-7&_summary=count');
  assert.equal(count.total, 3);
  assert.equal(count.entry, undefined);
  await http('DELETE', `${srv.base}/Observation/o0`);
});

test('paging backwards: previous links are stable windows in key order, also while data changes', async () => {
  const put = (id) => http('PUT', `${srv.base}/Location/${id}`, { body: { resourceType: 'Location', id, name: `ward ${id}`, status: 'active', identifier: [{ system: 'urn:ward', value: 'all' }] } });
  for (const id of ['w1', 'w2', 'w3', 'w4', 'w5', 'w6', 'w7']) await put(id);
  const ids = (b) => (b.entry || []).map((e) => e.resource.id);
  const rel = (b, r) => b.link.find((l) => l.relation === r)?.url;
  const p1 = await get('Location?status=active&_count=3');
  assert.deepEqual(ids(p1), ['w1', 'w2', 'w3']);
  assert.equal(rel(p1, 'previous'), undefined, 'the first page has no previous');
  const p2 = await (await fetch(rel(p1, 'next'))).json();
  const p3 = await (await fetch(rel(p2, 'next'))).json();
  assert.deepEqual(ids(p2), ['w4', 'w5', 'w6']);
  assert.deepEqual(ids(p3), ['w7']);
  assert.equal(rel(p3, 'next'), undefined);
  // back from the last page, in key order, with a self link that names the window
  const back2 = await (await fetch(rel(p3, 'previous'))).json();
  assert.deepEqual(ids(back2), ['w4', 'w5', 'w6']);
  assert.match(rel(back2, 'self'), /_before=\d+/);
  const back1 = await (await fetch(rel(back2, 'previous'))).json();
  assert.deepEqual(ids(back1), ['w1', 'w2', 'w3']);
  assert.equal(rel(back1, 'previous'), undefined, 'nothing before the first');
  assert.deepEqual(ids(await (await fetch(rel(back1, 'next'))).json()), ['w4', 'w5', 'w6'], 'and forward again');
  // the same through the streamed plan of one exact system|value
  const s3 = await get(`Location?identifier=${encodeURIComponent('urn:ward|all')}&_count=3&_cursor=${new URL(rel(p2, 'next')).searchParams.get('_cursor')}`);
  assert.deepEqual(ids(s3), ['w7']);
  assert.deepEqual(ids(await (await fetch(rel(s3, 'previous'))).json()), ['w4', 'w5', 'w6']);
  // a delete and a create between pages: the window shrinks or the new one goes to the end; nothing repeats
  await http('DELETE', `${srv.base}/Location/w5`);
  await put('w8');
  const shrunk = await (await fetch(rel(p3, 'previous'))).json();
  assert.deepEqual(ids(shrunk), ['w3', 'w4', 'w6'], 'the window before w7 takes one more from before');
  const before = await (await fetch(rel(shrunk, 'previous'))).json();
  assert.deepEqual(ids(before), ['w1', 'w2']);
  assert.equal(rel(before, 'previous'), undefined);
  for (const id of ['w1', 'w2', 'w3', 'w4', 'w6', 'w7', 'w8']) await http('DELETE', `${srv.base}/Location/${id}`);
});

test('unknown parameters: lenient by default, 400 with handling=strict', async () => {
  const lenient = await get('Patient?gender=male&frobnicate=1');
  assert.deepEqual(ids(lenient), ['p1']);
  const outcome = lenient.entry.find((e) => e.search.mode === 'outcome');
  assert.match(outcome.resource.issue[0].diagnostics, /frobnicate/);
  assert.ok(!lenient.link[0].url.includes('frobnicate'), 'the self link shows only what was applied');
  assert.ok(lenient.link[0].url.includes('gender=male'));
  const strict = await http('GET', `${srv.base}/Patient?gender=male&frobnicate=1`, { headers: { Prefer: 'handling=strict' } });
  assert.equal(strict.status, 400);
  assert.equal(strict.json.resourceType, 'OperationOutcome');
});

test('POST _search with a form body gives the same result as GET', async () => {
  const r = await http('POST', `${srv.base}/Patient/_search`, {
    body: 'gender=female&family=li', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(ids(r.json), ['p2']);
  const bad = await http('POST', `${srv.base}/Patient/_search`, { body: '{}', headers: { 'Content-Type': 'application/json' } });
  assert.equal(bad.status, 415);
});

test('the index follows updates and deletes', async () => {
  await http('PUT', `${srv.base}/Patient/p9`, { body: { resourceType: 'Patient', id: 'p9', gender: 'other' } });
  assert.deepEqual(ids(await get('Patient?gender=other')), ['p9']);
  await http('PUT', `${srv.base}/Patient/p9`, { body: { resourceType: 'Patient', id: 'p9', gender: 'unknown' } });
  assert.deepEqual(ids(await get('Patient?gender=other')), [], 'old values leave the index');
  assert.deepEqual(ids(await get('Patient?gender=unknown')), ['p9']);
  await http('DELETE', `${srv.base}/Patient/p9`);
  assert.deepEqual(ids(await get('Patient?gender=unknown')), [], 'deleted resources are not found');
  assert.deepEqual(ids(await get('Patient?_id=p9')), []);
});
