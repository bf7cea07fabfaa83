// matrix.test.mjs - the permission matrix, exhaustively: every role (from
// `yujian user roles`) against every resource type (from the
// CapabilityStatement) and every interaction (create, read, update, delete,
// search, and the search's POST form). A combination the role's scopes do
// not allow must be refused for the role (403 naming the role); one they
// allow must get past that check (any answer but the role refusal: records
// outside the caller's reach are refused differently, see access.test.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, http, addUser, login, cli, tempDir } from './helpers.mjs';

let srv, origin, types;
const roles = [];

// SMART v2 scopes as `yujian user roles` prints them: context/Type.letters
function allows(scopes, letter, type) {
  return scopes.some((s) => {
    const m = s.match(/^(patient|user|system)\/([A-Za-z*]+)\.([cruds]+)$/);
    return m && (m[2] === '*' || m[2] === type) && m[3].includes(letter);
  });
}

before(async () => {
  const lines = cli(['user', 'roles']).stdout.trim().split('\n');
  for (let i = 0; i < lines.length; i += 2) roles.push({ code: lines[i].split(/\s+/)[0], scopes: lines[i + 1].trim().split(/\s+/) });
  const dir = tempDir();
  for (const r of roles) addUser(dir, `m-${r.code}`, r.code, `m-${r.code}-password`, r.code === 'resident' ? ['--subject', 'Patient/m1'] : ['--org', 'Organization/m-org']);
  srv = await startServer({ dir });
  origin = srv.base.replace(/\/fhir$/, '');
  for (const r of roles) r.token = (await login(origin, `m-${r.code}`, `m-${r.code}-password`)).access_token;
  const meta = await http('GET', `${srv.base}/metadata`);
  // AuditEvent is the server's own trail: its matrix is tested in auth.test.mjs
  types = meta.json.rest[0].resource.map((r) => r.type).filter((t) => t !== 'AuditEvent');
  assert.ok(types.length >= 140, `${types.length} types`);
});
after(async () => { await srv.stop(); srv.cleanup(); });

const interactions = [
  ['c', (t) => ['POST', t, { resourceType: t }]],
  ['r', (t) => ['GET', `${t}/m-x`]],
  ['u', (t) => ['PUT', `${t}/m-x`, { resourceType: t, id: 'm-x' }]],
  ['d', (t) => ['DELETE', `${t}/m-x`]],
  ['s', (t) => ['GET', `${t}?_count=1`]],
  ['s', (t) => ['POST', `${t}/_search`, '_count=1']],
];

test('every role × every type × every interaction is allowed or refused as the matrix says', async () => {
  const wrong = [];
  let checked = 0;
  for (const r of roles) {
    const refusal = new RegExp(`role '${r.code}' may not`);
    await Promise.all(types.map(async (t) => {
      for (const [letter, make] of interactions) {
        const [method, path, body] = make(t);
        const headers = { Authorization: `Bearer ${r.token}` };
        if (typeof body === 'string') headers['Content-Type'] = 'application/x-www-form-urlencoded';
        const res = await http(method, `${srv.base}/${path}`, { body, headers });
        const refused = res.status === 403 && refusal.test(res.json?.issue?.[0]?.diagnostics || '');
        const expected = !allows(r.scopes, letter, t);
        if (refused !== expected) wrong.push(`${r.code} ${method} ${path}: ${res.status} ${(res.json?.issue?.[0]?.diagnostics || '').slice(0, 80)} (matrix: ${expected ? 'refuse' : 'allow'})`);
        checked++;
      }
    }));
  }
  assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} of ${checked} combinations differ from the matrix`);
  assert.ok(checked >= roles.length * 140 * interactions.length);
});
