// bundle.test.mjs - batch and transaction Bundles (FHIR R4
// http.html#transaction) against the real binary: reference resolution,
// all-or-nothing (the store checked afterwards), processing order, limits,
// and concurrent transactions that never interleave.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, http } from './helpers.mjs';

let srv;
const post = (bundle, headers = {}) => http('POST', srv.base, { body: bundle, headers });
const tx = (entry) => ({ resourceType: 'Bundle', type: 'transaction', entry });
const batch = (entry) => ({ resourceType: 'Bundle', type: 'batch', entry });
const count = async (q) => (await http('GET', `${srv.base}/${q}${q.includes('?') ? '&' : '?'}_summary=count`)).json.total;
const history = async () => (await http('GET', `${srv.base}/_history?_count=1000`)).json.entry?.length ?? 0;
const uuid = (n) => `urn:uuid:00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64');

before(async () => { srv = await startServer({ args: ['--max-bundle-entries', '50'] }); });
after(async () => { await srv.stop(); srv.cleanup(); });

test('transaction: urn:uuid references become the assigned ids', async () => {
  const r = await post(tx([
    { fullUrl: uuid(1), resource: { resourceType: 'Patient', identifier: [{ system: 'urn:t', value: 't1' }] },
      request: { method: 'POST', url: 'Patient' } },
    { fullUrl: uuid(2), resource: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' },
      subject: { reference: uuid(1) } }, request: { method: 'POST', url: 'Encounter' } },
    { resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' },
      subject: { reference: uuid(1) }, encounter: { reference: uuid(2) } }, request: { method: 'POST', url: 'Observation' } },
  ]), { Prefer: 'return=representation' });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.type, 'transaction-response');
  assert.deepEqual(r.json.entry.map((e) => e.response.status), ['201 Created', '201 Created', '201 Created']);
  const pid = r.json.entry[0].resource.id;
  const eid = r.json.entry[1].resource.id;
  assert.match(r.json.entry[0].response.location, new RegExp(`^Patient/${pid}/_history/1$`));
  const obs = r.json.entry[2].resource;
  assert.equal(obs.subject.reference, `Patient/${pid}`);
  assert.equal(obs.encounter.reference, `Encounter/${eid}`);
  assert.equal(await count(`Observation?subject=Patient/${pid}`), 1, 'the index has the rewritten reference');
});

test('transaction: one failing entry leaves the store exactly as it was', async () => {
  await http('PUT', `${srv.base}/Patient/keep`, { body: { resourceType: 'Patient', id: 'keep', gender: 'male' } });
  await http('PUT', `${srv.base}/Patient/keep2`, { body: { resourceType: 'Patient', id: 'keep2', gender: 'male' } });
  const before = await history();
  const patients = await count('Patient');
  const bad = [
    { resource: { resourceType: 'Patient', gender: 'female' }, request: { method: 'POST', url: 'Patient' } },
    { resource: { resourceType: 'Patient', id: 'keep', gender: 'female' }, request: { method: 'PUT', url: 'Patient/keep' } },
    { request: { method: 'DELETE', url: 'Patient/keep' } },
  ];
  const cases = [
    [{ resource: { resourceType: 'Patient', birthDate: 'not-a-date' }, request: { method: 'POST', url: 'Patient' } }, 400],
    [{ resource: { resourceType: 'Patient', id: 'keep2', gender: 'other' }, request: { method: 'PUT', url: 'Patient/keep2', ifMatch: 'W/"9"' } }, 412],
    [{ resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient?identifier=none|none' } },
      request: { method: 'POST', url: 'Observation' } }, 400],
    [{ resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: uuid(99) } },
      request: { method: 'POST', url: 'Observation' } }, 400],
  ];
  for (const [failing, statusCode] of cases) {
    const r = await post(tx([bad[0], bad[1], failing]));
    assert.equal(r.status, statusCode, r.body);
    assert.equal(r.json.resourceType, 'OperationOutcome');
    assert.match(r.json.issue[0].diagnostics, /entry 2/);
  }
  const r = await post(tx([bad[0], bad[2], { request: { method: 'DELETE', url: 'Patient/never-was' } }]));
  assert.equal(r.status, 404, r.body);
  assert.equal(await history(), before, 'no version was written');
  assert.equal(await count('Patient'), patients);
  assert.equal((await http('GET', `${srv.base}/Patient/keep`)).json.gender, 'male');
});

test('transaction: two entries changing one resource are refused', async () => {
  const r = await post(tx([
    { resource: { resourceType: 'Patient', id: 'dup' }, request: { method: 'PUT', url: 'Patient/dup' } },
    { request: { method: 'DELETE', url: 'Patient/dup' } },
  ]));
  assert.equal(r.status, 400, r.body);
  assert.match(r.json.issue[0].diagnostics, /change a resource once/);
});

test('transaction: DELETE, POST, PUT, GET run in the order of the specification', async () => {
  await http('PUT', `${srv.base}/Patient/ord`, { body: { resourceType: 'Patient', id: 'ord', gender: 'male' } });
  const r = await post(tx([
    { request: { method: 'GET', url: 'Patient?identifier=urn:t|ord-new' } },
    { resource: { resourceType: 'Patient', id: 'ord2', gender: 'other' }, request: { method: 'PUT', url: 'Patient/ord2' } },
    { resource: { resourceType: 'Patient', identifier: [{ system: 'urn:t', value: 'ord-new' }] }, request: { method: 'POST', url: 'Patient' } },
    { request: { method: 'DELETE', url: 'Patient/ord' } },
  ]));
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(r.json.entry.map((e) => e.response.status), ['200 OK', '201 Created', '201 Created', '204 No Content']);
  assert.equal(r.json.entry[0].resource.total, 1, 'the GET sees the POST of the same transaction');
  assert.equal((await http('GET', `${srv.base}/Patient/ord`)).status, 410);
});

test('transaction: ifNoneExist, conditional PUT and DELETE, conditional references, PATCH', async () => {
  await http('PUT', `${srv.base}/Organization/org1`, { body: { resourceType: 'Organization', id: 'org1', identifier: [{ system: 'urn:org', value: 'O1' }] } });
  await http('PUT', `${srv.base}/Patient/pp`, { body: { resourceType: 'Patient', id: 'pp', active: true } });
  const entries = () => [
    { fullUrl: uuid(10), resource: { resourceType: 'Patient', identifier: [{ system: 'urn:t', value: 'ine' }] },
      request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:t|ine' } },
    { resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: uuid(10) },
      performer: [{ reference: 'Organization?identifier=urn:org|O1' }] }, request: { method: 'POST', url: 'Observation' } },
    { resource: { resourceType: 'Patient', identifier: [{ system: 'urn:t', value: 'cput' }], gender: 'female' },
      request: { method: 'PUT', url: 'Patient?identifier=urn:t|cput' } },
    { resource: { resourceType: 'Binary', contentType: 'application/json-patch+json',
      data: b64([{ op: 'replace', path: '/active', value: false }]) }, request: { method: 'PATCH', url: 'Patient/pp' } },
  ];
  const first = await post(tx(entries()), { Prefer: 'return=representation' });
  assert.equal(first.status, 200, first.body);
  assert.deepEqual(first.json.entry.map((e) => e.response.status), ['201 Created', '201 Created', '201 Created', '200 OK']);
  const pid = first.json.entry[0].resource.id;
  assert.equal(first.json.entry[1].resource.subject.reference, `Patient/${pid}`);
  assert.equal(first.json.entry[1].resource.performer[0].reference, 'Organization/org1');
  assert.equal(first.json.entry[3].resource.active, false);
  const second = await post(tx(entries().slice(0, 3)));
  assert.equal(second.status, 200, second.body);
  assert.deepEqual(second.json.entry.map((e) => e.response.status), ['200 OK', '201 Created', '200 OK']);
  assert.equal(await count('Patient?identifier=urn:t|ine'), 1);
  assert.equal(await count(`Observation?subject=Patient/${pid}`), 2, 'the second Observation refers to the existing Patient');
  const del = await post(tx([{ request: { method: 'DELETE', url: 'Patient?identifier=urn:t|cput' } }]));
  assert.equal(del.status, 200, del.body);
  assert.equal(await count('Patient?identifier=urn:t|cput'), 0);
});

test('limits and malformed bundles', async () => {
  const big = tx(Array.from({ length: 51 }, () => ({ resource: { resourceType: 'Basic', code: { text: 'x' } }, request: { method: 'POST', url: 'Basic' } })));
  const r = await post(big);
  assert.equal(r.status, 413);
  assert.equal(r.json.resourceType, 'OperationOutcome');
  for (const body of [
    { resourceType: 'Bundle', type: 'collection' },
    { resourceType: 'Patient' },
    tx([{ resource: { resourceType: 'Patient' } }]),
    tx([{ request: { method: 'BREW', url: 'Patient' } }]),
    tx([{ resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Observation' } }]),
    tx([{ resource: { resourceType: 'Patient' }, request: { method: 'PUT', url: 'Patient' } }]),
    tx([{ resource: { resourceType: 'Patient', id: 'a' }, request: { method: 'PUT', url: 'Patient/b' } }]),
  ]) {
    const res = await post(body);
    assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.body}`);
  }
  const empty = await post(tx([]));
  assert.equal(empty.status, 200);
  assert.equal(empty.json.type, 'transaction-response');
});

test('batch: entries succeed and fail on their own', async () => {
  const r = await post(batch([
    { resource: { resourceType: 'Patient', gender: 'male' }, request: { method: 'POST', url: 'Patient' } },
    { resource: { resourceType: 'Patient', birthDate: 'bad' }, request: { method: 'POST', url: 'Patient' } },
    { request: { method: 'GET', url: 'Patient/nope' } },
    { resource: { resourceType: 'Patient', id: 'bt' }, request: { method: 'PUT', url: 'Patient/bt' } },
    { resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: uuid(5) } },
      request: { method: 'POST', url: 'Observation' } },
  ]));
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.type, 'batch-response');
  assert.deepEqual(r.json.entry.map((e) => e.response.status.slice(0, 3)), ['201', '400', '404', '201', '400']);
  assert.equal(r.json.entry[1].response.outcome.resourceType, 'OperationOutcome');
  assert.equal((await http('GET', `${srv.base}/Patient/bt`)).status, 200);
});

test('concurrent transactions over the same resources never interleave', async () => {
  const put = (id, v) => ({ resource: { resourceType: 'Patient', id, name: [{ family: `v${v}` }] }, request: { method: 'PUT', url: `Patient/${id}` } });
  const runs = await Promise.all(Array.from({ length: 40 }, (_, i) => post(tx([put('x1', i), put('x2', i), put('x3', i)]))));
  for (const r of runs) assert.equal(r.status, 200, r.body);
  const versions = async (id) => (await http('GET', `${srv.base}/Patient/${id}/_history?_count=100`)).json.entry
    .map((e) => [e.resource.meta.versionId, e.resource.name[0].family]).sort((a, b) => a[0] - b[0]);
  const [h1, h2, h3] = [await versions('x1'), await versions('x2'), await versions('x3')];
  assert.equal(h1.length, 40);
  assert.deepEqual(h1, h2, 'every version of x1 was written together with the same version of x2');
  assert.deepEqual(h1, h3);
  // racing transactions with the same ifNoneExist create one resource
  const ine = { resource: { resourceType: 'Patient', identifier: [{ system: 'urn:t', value: 'race' }] },
    request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:t|race' } };
  const raced = await Promise.all(Array.from({ length: 16 }, () => post(tx([ine]))));
  for (const r of raced) assert.equal(r.status, 200, r.body);
  assert.equal(raced.filter((r) => r.json.entry[0].response.status === '201 Created').length, 1);
  assert.equal(await count('Patient?identifier=urn:t|race'), 1);
});
