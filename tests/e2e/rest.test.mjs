// rest.test.mjs - every FHIR R4 REST interaction of the platform core and
// every error of issue #2, against the real binary.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, http, diagnostics } from './helpers.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv.stop(); srv.cleanup(); });

const patient = (extra = {}) => ({
  resourceType: 'Patient',
  name: [{ family: '张', given: ['伟'] }],
  gender: 'male',
  birthDate: '1980-05-01',
  ...extra,
});

test('create assigns an id, version 1, Location, ETag and Last-Modified', async () => {
  const r = await http('POST', `${srv.base}/Patient`, { body: patient({ id: 'ignored' }) });
  assert.equal(r.status, 201);
  assert.match(r.json.id, /^[0-9a-f-]{36}$/);
  assert.notEqual(r.json.id, 'ignored');
  assert.equal(r.json.meta.versionId, '1');
  assert.match(r.json.meta.lastUpdated, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(r.headers.get('location'), `${srv.base}/Patient/${r.json.id}/_history/1`);
  assert.equal(r.headers.get('etag'), 'W/"1"');
  assert.ok(r.headers.get('last-modified').endsWith('GMT'));
  assert.match(r.headers.get('content-type'), /^application\/fhir\+json/);
  const back = await http('GET', `${srv.base}/Patient/${r.json.id}`);
  assert.equal(back.status, 200);
  assert.deepEqual(back.json, r.json);
});

test('update creates with a client id, then versions 2, 3 and vread of each', async () => {
  const url = `${srv.base}/Patient/client-1`;
  const a = await http('PUT', url, { body: patient({ id: 'client-1' }) });
  assert.equal(a.status, 201);
  assert.equal(a.headers.get('location'), `${url}/_history/1`);
  const b = await http('PUT', url, { body: patient({ id: 'client-1', gender: 'female' }) });
  assert.equal(b.status, 200);
  assert.equal(b.json.meta.versionId, '2');
  const v1 = await http('GET', `${url}/_history/1`);
  assert.equal(v1.json.gender, 'male');
  const v2 = await http('GET', `${url}/_history/2`);
  assert.equal(v2.json.gender, 'female');
  assert.equal((await http('GET', `${url}/_history/3`)).status, 404);
  assert.equal((await http('GET', `${url}/_history/x`)).status, 400);
});

test('If-Match: matching version writes, stale version answers 412', async () => {
  const url = `${srv.base}/Patient/ifm`;
  await http('PUT', url, { body: patient({ id: 'ifm' }) });
  const ok = await http('PUT', url, { body: patient({ id: 'ifm', active: true }), headers: { 'If-Match': 'W/"1"' } });
  assert.equal(ok.status, 200);
  const stale = await http('PUT', url, { body: patient({ id: 'ifm', active: false }), headers: { 'If-Match': 'W/"1"' } });
  assert.equal(stale.status, 412);
  assert.equal(stale.json.resourceType, 'OperationOutcome');
  assert.equal((await http('GET', url)).json.active, true, 'the stale write left no trace');
  const bad = await http('PUT', url, { body: patient({ id: 'ifm' }), headers: { 'If-Match': 'nonsense' } });
  assert.equal(bad.status, 400);
  const del = await http('DELETE', url, { headers: { 'If-Match': 'W/"1"' } });
  assert.equal(del.status, 412);
});

test('racing writers with the same If-Match: exactly one wins, the rest get 412', async () => {
  const url = `${srv.base}/Patient/race`;
  await http('PUT', url, { body: patient({ id: 'race' }) });
  const tries = await Promise.all(Array.from({ length: 24 }, (_, i) =>
    http('PUT', url, { body: patient({ id: 'race', birthDate: `19${10 + i}-01-01` }), headers: { 'If-Match': 'W/"1"' } })));
  const won = tries.filter((r) => r.status === 200);
  assert.equal(won.length, 1, tries.map((r) => r.status).join(','));
  assert.equal(tries.filter((r) => r.status === 412).length, 23);
  const now = await http('GET', url);
  assert.equal(now.json.meta.versionId, '2');
  assert.equal(now.json.birthDate, won[0].json.birthDate);
});

test('concurrent patches without If-Match all apply, none is lost', async () => {
  const url = `${srv.base}/Patient/pp`;
  await http('PUT', url, { body: patient({ id: 'pp' }) });
  const hdr = { 'Content-Type': 'application/json-patch+json' };
  const results = await Promise.all(Array.from({ length: 4 }, (_, i) =>
    http('PATCH', url, { headers: hdr, body: [{ op: 'add', path: '/name/-', value: { family: `n${i}` } }] })));
  assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 200]);
  const now = await http('GET', url);
  assert.equal(now.json.name.length, 5, 'every patch applied on top of the others');
  assert.equal(now.json.meta.versionId, '5');
});

test('conditional read: If-None-Match and If-Modified-Since answer 304', async () => {
  const url = `${srv.base}/Patient/cond`;
  const w = await http('PUT', url, { body: patient({ id: 'cond' }) });
  const inm = await http('GET', url, { headers: { 'If-None-Match': 'W/"1"' } });
  assert.equal(inm.status, 304);
  assert.equal(inm.body, '');
  assert.equal((await http('GET', url, { headers: { 'If-None-Match': 'W/"9"' } })).status, 200);
  const ims = await http('GET', url, { headers: { 'If-Modified-Since': w.headers.get('last-modified') } });
  assert.equal(ims.status, 304);
  const old = await http('GET', url, { headers: { 'If-Modified-Since': 'Mon, 01 Jan 2001 00:00:00 GMT' } });
  assert.equal(old.status, 200);
});

test('delete then read answers 410 Gone; deleting again is a no-op; unknown is 404', async () => {
  const url = `${srv.base}/Patient/del`;
  await http('PUT', url, { body: patient({ id: 'del' }) });
  const d = await http('DELETE', url);
  assert.equal(d.status, 204);
  assert.equal(d.headers.get('etag'), 'W/"2"');
  const g = await http('GET', url);
  assert.equal(g.status, 410);
  assert.equal(g.json.issue[0].code, 'deleted');
  assert.equal((await http('DELETE', url)).status, 204);
  assert.equal((await http('GET', `${url}/_history`)).json.total, 2, 'no version for a repeated delete');
  assert.equal((await http('DELETE', `${srv.base}/Patient/never-was`)).status, 404);
  const again = await http('PUT', url, { body: patient({ id: 'del' }) });
  assert.equal(again.status, 201, 'an update after delete creates it again');
  assert.equal(again.json.meta.versionId, '3');
});

test('JSON Patch: applies, validates the result, honours If-Match', async () => {
  const url = `${srv.base}/Patient/pt`;
  await http('PUT', url, { body: patient({ id: 'pt' }) });
  const hdr = { 'Content-Type': 'application/json-patch+json' };
  const r = await http('PATCH', url, { headers: hdr, body: [{ op: 'add', path: '/active', value: true }, { op: 'replace', path: '/gender', value: 'female' }] });
  assert.equal(r.status, 200, diagnostics(r.json));
  assert.equal(r.json.active, true);
  assert.equal(r.json.gender, 'female');
  assert.equal(r.json.meta.versionId, '2');
  const invalid = await http('PATCH', url, { headers: hdr, body: [{ op: 'add', path: '/bogus', value: 1 }] });
  assert.equal(invalid.status, 422);
  assert.match(diagnostics(invalid.json), /unknown element 'bogus'/);
  const idChange = await http('PATCH', url, { headers: hdr, body: [{ op: 'replace', path: '/id', value: 'other' }] });
  assert.equal(idChange.status, 422);
  const failedTest = await http('PATCH', url, { headers: hdr, body: [{ op: 'test', path: '/gender', value: 'male' }] });
  assert.equal(failedTest.status, 422);
  const stale = await http('PATCH', url, { headers: { ...hdr, 'If-Match': 'W/"1"' }, body: [{ op: 'remove', path: '/active' }] });
  assert.equal(stale.status, 412);
  const wrongType = await http('PATCH', url, { body: [{ op: 'remove', path: '/active' }] });
  assert.equal(wrongType.status, 415);
  assert.equal((await http('GET', url)).json.meta.versionId, '2', 'failed patches wrote nothing');
  assert.equal((await http('PATCH', `${srv.base}/Patient/nope`, { headers: hdr, body: [] })).status, 404);
});

test('Prefer: return=minimal and return=OperationOutcome', async () => {
  const min = await http('POST', `${srv.base}/Patient`, { body: patient(), headers: { Prefer: 'return=minimal' } });
  assert.equal(min.status, 201);
  assert.equal(min.body, '');
  assert.ok(min.headers.get('location'));
  const oo = await http('POST', `${srv.base}/Patient`, { body: patient(), headers: { Prefer: 'return=OperationOutcome' } });
  assert.equal(oo.status, 201);
  assert.equal(oo.json.resourceType, 'OperationOutcome');
});

test('history at instance, type and system level with _count, _since and paging', async () => {
  const url = `${srv.base}/Observation/h1`;
  const obs = (v) => ({ resourceType: 'Observation', id: 'h1', status: 'final', code: { text: 'x' }, valueQuantity: { value: v } });
  const first = await http('PUT', url, { body: obs(1) });
  for (let i = 2; i <= 5; i++) await http('PUT', url, { body: obs(i) });
  const inst = await http('GET', `${url}/_history?_count=2`);
  assert.equal(inst.status, 200);
  assert.equal(inst.json.type, 'history');
  assert.equal(inst.json.total, 5);
  assert.deepEqual(inst.json.entry.map((e) => e.resource.meta.versionId), ['5', '4']);
  // paging stays stable while new versions are written
  await http('PUT', url, { body: obs(6) });
  const next = inst.json.link.find((l) => l.relation === 'next').url;
  const page2 = await http('GET', next);
  assert.deepEqual(page2.json.entry.map((e) => e.resource.meta.versionId), ['3', '2']);
  const page3 = await http('GET', page2.json.link.find((l) => l.relation === 'next').url);
  assert.deepEqual(page3.json.entry.map((e) => e.resource.meta.versionId), ['1']);
  assert.equal(page3.json.link.find((l) => l.relation === 'next'), undefined);
  assert.equal(page3.json.entry[0].request.method, 'POST');
  assert.equal(page2.json.entry[0].request.method, 'PUT');
  const type = await http('GET', `${srv.base}/Observation/_history`);
  assert.ok(type.json.entry.every((e) => e.fullUrl.includes('/Observation/')));
  const since = new Date(Date.parse(first.json.meta.lastUpdated) + 1).toISOString();
  const sinceRes = await http('GET', `${url}/_history?_since=${encodeURIComponent(since)}`);
  assert.ok(sinceRes.json.entry.every((e) => e.resource.meta.versionId !== '1'));
  const sys = await http('GET', `${srv.base}/_history?_count=3`);
  assert.equal(sys.json.entry.length, 3);
  assert.equal((await http('GET', `${url}/_history?_count=abc`)).status, 400);
  assert.equal((await http('GET', `${url}/_history?_since=yesterday`)).status, 400);
  assert.equal((await http('GET', `${srv.base}/Observation/none/_history`)).status, 404);
});

test('history entries of deleted versions carry DELETE and no resource', async () => {
  const url = `${srv.base}/Patient/hd`;
  await http('PUT', url, { body: patient({ id: 'hd' }) });
  await http('DELETE', url);
  const h = await http('GET', `${url}/_history`);
  assert.equal(h.json.entry[0].request.method, 'DELETE');
  assert.equal(h.json.entry[0].resource, undefined);
});

test('decimal precision and Unicode survive a round trip', async () => {
  const body = { resourceType: 'Observation', id: 'dec', status: 'final', code: { text: '血糖' },
    valueQuantity: { value: 6.0, unit: 'mmol/L' }, referenceRange: [{ low: { value: 1.50 } }] };
  const text = JSON.stringify(body).replace('"value":6', '"value":6.0').replace('"value":1.5', '"value":1.50');
  const r = await http('PUT', `${srv.base}/Observation/dec`, { body: text });
  assert.equal(r.status, 201, r.body);
  const g = await http('GET', `${srv.base}/Observation/dec`);
  assert.match(g.body, /"value":6\.0[,}]/);
  assert.match(g.body, /"value":1\.50[,}]/);
  assert.match(g.body, /血糖/);
});

test('metadata is a CapabilityStatement of what is implemented', async () => {
  const r = await http('GET', `${srv.base}/metadata`);
  assert.equal(r.status, 200);
  assert.equal(r.json.resourceType, 'CapabilityStatement');
  assert.equal(r.json.fhirVersion, '4.0.1');
  assert.deepEqual(r.json.format, ['json']);
  const p = r.json.rest[0].resource.find((x) => x.type === 'Patient');
  const codes = p.interaction.map((i) => i.code).sort();
  assert.deepEqual(codes, ['create', 'delete', 'history-instance', 'history-type', 'patch', 'read', 'search-type', 'update', 'vread']);
  const params = Object.fromEntries(p.searchParam.map((x) => [x.name, x.type]));
  assert.equal(params.identifier, 'token');
  assert.equal(params.birthdate, 'date');
  assert.equal(params._id, 'token');
  assert.ok(!p.searchParam.some((x) => x.type === 'special'), 'no claim of what is not applied');
  const obs = r.json.rest[0].resource.find((x) => x.type === 'Observation');
  const obsParams = Object.fromEntries(obs.searchParam.map((x) => [x.name, x.type]));
  assert.equal(obsParams['code-value-quantity'], 'composite');
  assert.equal(obsParams['component-code-value-quantity'], 'composite');
  const seq = r.json.rest[0].resource.find((x) => x.type === 'MolecularSequence');
  assert.ok(!seq.searchParam.some((x) => x.name === 'chromosome-window-coordinate'), 'three-part composites are not applied');
  assert.ok(r.json.rest[0].resource.length >= 145);
});

test('content negotiation: JSON only; XML answers 406 or 415', async () => {
  assert.equal((await http('GET', `${srv.base}/metadata?_format=json`)).status, 200);
  assert.equal((await http('GET', `${srv.base}/metadata?_format=application/fhir%2Bjson`)).status, 200);
  const x = await http('GET', `${srv.base}/metadata?_format=xml`);
  assert.equal(x.status, 406);
  assert.equal(x.json.resourceType, 'OperationOutcome');
  assert.equal((await http('GET', `${srv.base}/metadata`, { headers: { Accept: 'application/fhir+xml' } })).status, 406);
  assert.equal((await http('GET', `${srv.base}/metadata`, { headers: { Accept: 'application/json' } })).status, 200);
  assert.equal((await http('GET', `${srv.base}/metadata`, { headers: { Accept: 'text/html, */*;q=0.8' } })).status, 200);
  const xml = await http('POST', `${srv.base}/Patient`, { body: '<Patient/>', headers: { 'Content-Type': 'application/fhir+xml' } });
  assert.equal(xml.status, 415);
  assert.equal(xml.json.resourceType, 'OperationOutcome');
});

test('errors are OperationOutcomes with the right status', async () => {
  const cases = [
    ['malformed JSON', 'POST', '/Patient', '{"resourceType":', 400],
    ['not an object', 'POST', '/Patient', '[1]', 400],
    ['unknown type', 'GET', '/Bogus/1', undefined, 404],
    ['unknown type create', 'POST', '/Bogus', '{"resourceType":"Bogus"}', 404],
    ['type mismatch', 'POST', '/Patient', '{"resourceType":"Observation","status":"final","code":{"text":"x"}}', 400],
    ['id mismatch', 'PUT', '/Patient/a', '{"resourceType":"Patient","id":"b"}', 400],
    ['missing id on update', 'PUT', '/Patient/a', '{"resourceType":"Patient"}', 400],
    ['invalid id in URL', 'GET', '/Patient/bad_id!', undefined, 400],
    ['not found', 'GET', '/Patient/does-not-exist', undefined, 404],
    ['method not allowed', 'DELETE', '/metadata', undefined, 405],
    ['method not allowed on type', 'PATCH', '/Patient', '[]', 405],
    ['conditional update without criteria', 'PUT', '/Patient', '{"resourceType":"Patient"}', 400],
    ['operation not yet', 'POST', '/Patient/$validate', '{}', 501],
    ['operation on the wrong method', 'POST', '/Patient/a/$everything', '{}', 405],
    ['validation', 'POST', '/Patient', '{"resourceType":"Patient","birthDate":"1980-13-01"}', 400],
    ['trailing garbage', 'POST', '/Patient', '{"resourceType":"Patient"} x', 400],
    ['not under /fhir', 'GET', '/nope', undefined, 404],
  ];
  for (const [name, method, path, body, status] of cases) {
    const r = await http(method, `${srv.base.replace(/\/fhir$/, '')}${path === '/nope' ? '' : '/fhir'}${path}`, { body });
    assert.equal(r.status, status, `${name}: ${r.body}`);
    assert.equal(r.json?.resourceType, 'OperationOutcome', name);
    assert.ok(r.json.issue.length >= 1, name);
  }
  const v = await http('POST', `${srv.base}/Patient`, { body: '{"resourceType":"Patient","birthDate":"1980-13-01","foo":1,"gender":""}' });
  assert.equal(v.json.issue.length, 3, 'all problems in one OperationOutcome');
  assert.deepEqual(v.json.issue.map((i) => i.expression[0]).sort(), ['Patient.birthDate', 'Patient.foo', 'Patient.gender']);
  assert.match(v.json.issue[0].details.text, /输入无效/);
});

test('a body over the limit answers 413 and the server keeps serving', async () => {
  const small = await startServer({ args: ['--max-body', '2048'] });
  try {
    const big = JSON.stringify(patient({ text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">' + 'x'.repeat(5000) + '</div>' } }));
    const r = await http('POST', `${small.base}/Patient`, { body: big });
    assert.equal(r.status, 413);
    assert.equal(r.json.resourceType, 'OperationOutcome');
    const ok = await http('POST', `${small.base}/Patient`, { body: patient() });
    assert.equal(ok.status, 201);
    const deep = '{"resourceType":"Patient","extension":' + '['.repeat(200) + ']'.repeat(200) + '}';
    const d = await http('POST', `${small.base}/Patient`, { body: deep });
    assert.equal(d.status, 413);
  } finally {
    await small.stop();
    small.cleanup();
  }
});

test('an over-long URL answers 414 with an OperationOutcome', async () => {
  const r = await http('GET', `${srv.base}/Patient/${'a'.repeat(9000)}`);
  assert.equal(r.status, 414);
  assert.equal(r.json.resourceType, 'OperationOutcome');
  assert.equal((await http('GET', `${srv.base}/metadata`)).status, 200);
});

test('a failed write leaves the store exactly as it was', async () => {
  const before = await http('GET', `${srv.base}/_history?_count=1000`);
  await http('POST', `${srv.base}/Patient`, { body: '{"resourceType":"Patient","gender":5}' });
  await http('PUT', `${srv.base}/Patient/x1`, { body: '{"resourceType":"Patient","id":"x1","bad":true}' });
  const after = await http('GET', `${srv.base}/_history?_count=1000`);
  assert.equal(after.json.entry?.length, before.json.entry?.length);
  assert.equal((await http('GET', `${srv.base}/Patient/x1`)).status, 404);
});

test('the landing page and health check answer', async () => {
  const root = srv.base.replace(/\/fhir$/, '');
  const h = await fetch(`${root}/`);
  assert.equal(h.status, 200);
  assert.match(await h.text(), /豫健/);
  const z = await http('GET', `${root}/healthz`);
  assert.equal(z.json.status, 'ok');
  // a client that posts to the wrong base (no /fhir) gets an error, not the page with 200
  for (const path of ['/', '/index.html', '/healthz']) {
    const r = await http('POST', `${root}${path}`, { body: { resourceType: 'Bundle', type: 'transaction', entry: [] } });
    assert.equal(r.status, 405, path);
    assert.equal(r.headers.get('allow'), 'GET, HEAD');
    assert.equal(r.json.resourceType, 'OperationOutcome');
  }
});
