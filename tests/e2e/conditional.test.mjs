// conditional.test.mjs - conditional create, update and delete (FHIR R4
// http.html#ccreate, #cond-update, #cdelete) against the real binary,
// including racing conditional creates.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, http } from './helpers.mjs';

let srv;
const patient = (value, extra = {}) => ({ resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value }], ...extra });
const search = async (q) => (await http('GET', `${srv.base}/${q}`)).json;

before(async () => { srv = await startServer({ args: ['--max-conditional-delete', '3'] }); });
after(async () => { await srv.stop(); srv.cleanup(); });

test('conditional create: none -> 201, one -> 200 with the existing resource, several -> 412', async () => {
  const h = { 'If-None-Exist': 'identifier=urn:mrn|c-1' };
  const first = await http('POST', `${srv.base}/Patient`, { body: patient('c-1'), headers: h });
  assert.equal(first.status, 201, first.body);
  const again = await http('POST', `${srv.base}/Patient`, { body: patient('c-1', { active: true }), headers: h });
  assert.equal(again.status, 200, again.body);
  assert.equal(again.json.id, first.json.id);
  assert.equal(again.json.active, undefined, 'the existing resource is returned unchanged');
  assert.equal(again.headers.get('etag'), 'W/"1"');
  await http('POST', `${srv.base}/Patient`, { body: patient('c-2') });
  await http('POST', `${srv.base}/Patient`, { body: patient('c-2') });
  const many = await http('POST', `${srv.base}/Patient`, { body: patient('c-2'), headers: { 'If-None-Exist': 'identifier=urn:mrn|c-2' } });
  assert.equal(many.status, 412);
  assert.equal(many.json.issue[0].code, 'multiple-matches');
});

test('conditional criteria are strict: unknown parameters and result parameters are 400', async () => {
  for (const crit of ['nonsense=1', 'identifier=urn:mrn|c-1&_count=1', '', '_sort=family']) {
    const r = await http('POST', `${srv.base}/Patient`, { body: patient('x'), headers: { 'If-None-Exist': crit } });
    assert.equal(r.status, 400, `${crit}: ${r.body}`);
  }
  const total = (await search('Patient?identifier=urn:mrn|x&_summary=count')).total;
  assert.equal(total, 0, 'nothing was created');
});

test('racing conditional creates make exactly one resource', async () => {
  const h = { 'If-None-Exist': 'identifier=urn:mrn|race-1' };
  const results = await Promise.all(Array.from({ length: 24 }, () =>
    http('POST', `${srv.base}/Patient`, { body: patient('race-1'), headers: h })));
  const statuses = results.map((r) => r.status).sort();
  assert.equal(statuses.filter((s) => s === 201).length, 1, statuses.join(','));
  assert.equal(statuses.filter((s) => s === 200).length, 23, statuses.join(','));
  assert.equal(new Set(results.map((r) => r.json.id)).size, 1, 'every answer names the same resource');
  assert.equal((await search('Patient?identifier=urn:mrn|race-1&_summary=count')).total, 1);
});

test('conditional update: creates when nothing matches, updates the one match, 412 on several', async () => {
  const url = `${srv.base}/Patient?identifier=${encodeURIComponent('urn:mrn|u-1')}`;
  const created = await http('PUT', url, { body: patient('u-1', { gender: 'male' }) });
  assert.equal(created.status, 201, created.body);
  const id = created.json.id;
  const updated = await http('PUT', url, { body: patient('u-1', { gender: 'female' }) });
  assert.equal(updated.status, 200, updated.body);
  assert.equal(updated.json.id, id);
  assert.equal(updated.json.meta.versionId, '2');
  const wrongId = await http('PUT', url, { body: patient('u-1', { id: 'other' }) });
  assert.equal(wrongId.status, 400, 'the body id must be the matched id');
  const stale = await http('PUT', url, { body: patient('u-1'), headers: { 'If-Match': 'W/"1"' } });
  assert.equal(stale.status, 412, 'If-Match still applies');
  const several = await http('PUT', `${srv.base}/Patient?identifier=${encodeURIComponent('urn:mrn|c-2')}`, { body: patient('c-2') });
  assert.equal(several.status, 412);
  const withId = await http('PUT', `${srv.base}/Patient?identifier=${encodeURIComponent('urn:mrn|u-2')}`,
    { body: patient('u-2', { id: 'chosen-id' }) });
  assert.equal(withId.status, 201);
  assert.equal(withId.json.id, 'chosen-id', 'no match and an id given: update as create');
});

test('conditional delete: one, several up to the limit, none, more than the limit', async () => {
  for (let i = 0; i < 5; i++) await http('POST', `${srv.base}/Patient`, { body: patient('d-many') });
  await http('POST', `${srv.base}/Patient`, { body: patient('d-one') });
  const one = await http('DELETE', `${srv.base}/Patient?identifier=${encodeURIComponent('urn:mrn|d-one')}`);
  assert.equal(one.status, 200, one.body);
  assert.equal((await search('Patient?identifier=urn:mrn|d-one&_summary=count')).total, 0);
  const none = await http('DELETE', `${srv.base}/Patient?identifier=${encodeURIComponent('urn:mrn|d-one')}`);
  assert.equal(none.status, 200);
  assert.match(none.json.issue[0].diagnostics, /nothing was deleted/);
  const tooMany = await http('DELETE', `${srv.base}/Patient?identifier=${encodeURIComponent('urn:mrn|d-many')}`);
  assert.equal(tooMany.status, 412, 'five matches, the limit is three');
  assert.equal((await search('Patient?identifier=urn:mrn|d-many&_summary=count')).total, 5, 'none deleted');
  for (let i = 0; i < 2; i++) {
    const list = await search('Patient?identifier=urn:mrn|d-many&_count=1');
    await http('DELETE', `${srv.base}/Patient/${list.entry[0].resource.id}`);
  }
  const three = await http('DELETE', `${srv.base}/Patient?identifier=${encodeURIComponent('urn:mrn|d-many')}`);
  assert.equal(three.status, 200);
  assert.match(three.json.issue[0].diagnostics, /deleted 3/);
  const all = await http('DELETE', `${srv.base}/Patient`);
  assert.equal(all.status, 400, 'a conditional delete without criteria deletes nothing');
});
