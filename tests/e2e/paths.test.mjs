// paths.test.mjs - how the server reads a request's path and query: percent
// escapes are decoded, except %00, which would otherwise end the string early
// and let a different record answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, http } from './helpers.mjs';

let srv, origin;

before(async () => {
  srv = await startServer();
  origin = srv.base.replace(/\/fhir$/, '');
});
after(async () => { await srv.stop(); srv.cleanup(); });

test('a %00 in the path or a query value is not a string end: no other record answers', async () => {
  const base = `${origin}/fhir`;
  const put = await http('PUT', `${base}/Patient/nul-a`, { body: { resourceType: 'Patient', id: 'nul-a' } });
  assert.ok(put.status === 201 || put.status === 200, put.body);
  // before: the path was cut at the NUL and Patient/nul-a answered 200
  const r = await http('GET', `${base}/Patient/nul-a%00other`);
  assert.equal(r.status, 400, r.body);
  assert.equal(r.json.resourceType, 'OperationOutcome');
  const s = await http('GET', `${base}/Patient?_id=nul-a%00other`);
  assert.equal(s.status, 200, s.body);
  assert.equal(s.json.total ?? (s.json.entry || []).length, 0);
  assert.equal((await http('GET', `${base}/Patient/nul-a`)).status, 200);
});

test('ordinary escapes are decoded in paths and query values', async () => {
  const base = `${origin}/fhir`;
  await http('PUT', `${base}/Patient/esc-1`, { body: { resourceType: 'Patient', id: 'esc-1', name: [{ family: '王' }] } });
  assert.equal((await http('GET', `${base}/Patient/esc%2D1`)).status, 200);
  const s = await http('GET', `${base}/Patient?family=%E7%8E%8B&_id=esc-1`);
  assert.equal(s.json.entry?.length, 1, s.body);
});
