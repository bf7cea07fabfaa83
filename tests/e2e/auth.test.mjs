// auth.test.mjs - the gate in front of the API: bearer tokens, the password
// and refresh grants, lock-out, revocation, roles and scopes on every kind
// of interaction, a resident confined to their own records, the audit trail
// and its tamper detection, and no patient data in the logs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startServer, http, cli, addUser, login, tempDir } from './helpers.mjs';

let srv, origin;
const pw = { doc: 'doctor-password', res: 'resident-password', res2: 'resident2-password', lab: 'lab-password' };
const bearer = (t) => ({ Authorization: `Bearer ${t}` });
// the records of this suite are held by Organization/h1 (fhir/access.h)
const meta = { tag: [{ system: 'https://fhir.yujian.org.cn/CodeSystem/custodian', code: 'Organization/h1' }] };
const form = (o) => ({ body: new URLSearchParams(o).toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: '' } });

before(async () => {
  const dir = tempDir();
  addUser(dir, 'doc', 'doctor', pw.doc, ['--org', 'Organization/h1', '--subject', 'Practitioner/d1']);
  addUser(dir, 'res', 'resident', pw.res, ['--subject', 'Patient/p1']);
  addUser(dir, 'res2', 'resident', pw.res2, ['--subject', 'Patient/p2']);
  addUser(dir, 'lab', 'lab', pw.lab, ['--org', 'Organization/h1']);
  srv = await startServer({ dir, args: ['--max-failed-logins', '3', '--lockout', '2', '--access-log', '1'] });
  origin = srv.base.replace(/\/fhir$/, '');
  for (const p of ['p1', 'p2']) {
    assert.equal((await http('PUT', `${srv.base}/Patient/${p}`, { body: { resourceType: 'Patient', id: p, meta, name: [{ text: p === 'p1' ? '张三丰' : '李四' }], identifier: [{ system: 'urn:oid:2.16.156.10011.1.1', value: p === 'p1' ? '410102199001011234' : '410102199001015678' }] } })).status, 201);
    assert.equal((await http('PUT', `${srv.base}/Observation/o-${p}`, { body: { resourceType: 'Observation', id: `o-${p}`, meta, status: 'final', code: { text: 'glucose' }, subject: { reference: `Patient/${p}` }, performer: [{ reference: 'Organization/h1' }] } })).status, 201);
  }
  assert.equal((await http('PUT', `${srv.base}/Organization/h1`, { body: { resourceType: 'Organization', id: 'h1', name: 'h1' } })).status, 201);
  assert.equal((await http('PUT', `${srv.base}/Group/g1`, { body: { resourceType: 'Group', id: 'g1', meta, type: 'person', actual: true, member: [{ entity: { reference: 'Patient/p2' } }] } })).status, 201);
});
after(async () => { await srv.stop(); srv.cleanup(); });

test('the API refuses requests without a valid bearer token; the CapabilityStatement is public', async () => {
  const none = await http('GET', `${srv.base}/Patient`, { headers: { Authorization: '' } });
  assert.equal(none.status, 401);
  assert.equal(none.json.resourceType, 'OperationOutcome');
  assert.equal(none.json.issue[0].code, 'login');
  assert.match(none.headers.get('www-authenticate'), /^Bearer/);
  const bad = await http('GET', `${srv.base}/Patient/p1`, { headers: { Authorization: 'Bearer not-a-token' } });
  assert.equal(bad.status, 401);
  assert.match(bad.headers.get('www-authenticate'), /invalid_token/);
  const meta = await http('GET', `${srv.base}/metadata`, { headers: { Authorization: '' } });
  assert.equal(meta.status, 200);
  const sec = meta.json.rest[0].security;
  assert.equal(sec.service[0].coding[0].code, 'SMART-on-FHIR');
  assert.match(sec.extension[0].extension.find((e) => e.url === 'token').valueUri, /\/auth\/token$/);
  const smart = await http('GET', `${srv.base}/.well-known/smart-configuration`, { headers: { Authorization: '' } });
  assert.equal(smart.status, 200);
  assert.match(smart.json.token_endpoint, /\/auth\/token$/);
});

test('password grant: wrong password refused, repeated failures lock the account for a while', async () => {
  addUser(srv.dir, 'locky', 'nurse', 'locky-password');
  const wrong = await http('POST', `${origin}/auth/token`, form({ grant_type: 'password', username: 'locky', password: 'nope-nope' }));
  assert.equal(wrong.status, 400);
  assert.equal(wrong.json.error, 'invalid_grant');
  const unknown = await http('POST', `${origin}/auth/token`, form({ grant_type: 'password', username: 'nobody', password: 'nope-nope' }));
  assert.deepEqual([unknown.status, unknown.json.error_description], [wrong.status, wrong.json.error_description], 'an unknown name looks like a wrong password');
  await http('POST', `${origin}/auth/token`, form({ grant_type: 'password', username: 'locky', password: 'nope-nope' }));
  const third = await http('POST', `${origin}/auth/token`, form({ grant_type: 'password', username: 'locky', password: 'nope-nope' }));
  assert.equal(third.status, 429, 'the third failure in a row locks');
  const right = await http('POST', `${origin}/auth/token`, form({ grant_type: 'password', username: 'locky', password: 'locky-password' }));
  assert.equal(right.status, 429, 'even the right password is refused while locked');
  assert.ok(Number(right.headers.get('retry-after')) > 0);
  await new Promise((r) => setTimeout(r, 2200));
  const later = await http('POST', `${origin}/auth/token`, form({ grant_type: 'password', username: 'locky', password: 'locky-password' }));
  assert.equal(later.status, 200, 'the lock ends');
  assert.equal(later.json.token_type, 'Bearer');
  assert.equal(later.headers.get('cache-control'), 'no-store');
});

test('refresh tokens rotate; revoked access tokens stop working at once', async () => {
  const t = await login(origin, 'doc', pw.doc);
  assert.equal((await http('GET', `${srv.base}/Patient/p1`, { headers: bearer(t.access_token) })).status, 200);
  const r1 = await http('POST', `${origin}/auth/token`, form({ grant_type: 'refresh_token', refresh_token: t.refresh_token }));
  assert.equal(r1.status, 200);
  assert.notEqual(r1.json.access_token, t.access_token);
  const again = await http('POST', `${origin}/auth/token`, form({ grant_type: 'refresh_token', refresh_token: t.refresh_token }));
  assert.equal(again.status, 400, 'a refresh token is good for one use');
  const rv = await http('POST', `${origin}/auth/revoke`, form({ token: r1.json.access_token }));
  assert.equal(rv.status, 200);
  assert.equal((await http('GET', `${srv.base}/Patient/p1`, { headers: bearer(r1.json.access_token) })).status, 401);
});

test('disabling an account or changing its password invalidates its tokens', async () => {
  addUser(srv.dir, 'temp', 'nurse', 'temp-password', ['--org', 'Organization/h1']);
  const t = await login(origin, 'temp', 'temp-password');
  assert.equal((await http('GET', `${srv.base}/Patient/p1`, { headers: bearer(t.access_token) })).status, 200);
  assert.equal(cli(['user', 'disable', 'temp', '--data', srv.dir]).status, 0);
  assert.equal((await http('GET', `${srv.base}/Patient/p1`, { headers: bearer(t.access_token) })).status, 401);
  const relog = await http('POST', `${origin}/auth/token`, form({ grant_type: 'password', username: 'temp', password: 'temp-password' }));
  assert.equal(relog.status, 400, 'a disabled account cannot log in');
  assert.equal(cli(['user', 'enable', 'temp', '--data', srv.dir]).status, 0);
  const t2 = await login(origin, 'temp', 'temp-password');
  assert.equal(cli(['user', 'passwd', 'temp', '--data', srv.dir], { input: 'temp-password-2\n' }).status, 0);
  assert.equal((await http('GET', `${srv.base}/Patient/p1`, { headers: bearer(t2.access_token) })).status, 401);
  assert.equal((await login(origin, 'temp', 'temp-password-2')).token_type, 'Bearer');
});

test('roles: a doctor reads and records results but may not delete patients or rebuild the index', async () => {
  const t = (await login(origin, 'doc', pw.doc)).access_token;
  assert.equal((await http('GET', `${srv.base}/Observation?subject=Patient/p2`, { headers: bearer(t) })).status, 200);
  const created = await http('POST', `${srv.base}/Observation`, { headers: bearer(t), body: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p1' } } });
  assert.equal(created.status, 201);
  const del = await http('DELETE', `${srv.base}/Patient/p2`, { headers: bearer(t) });
  assert.equal(del.status, 403);
  assert.equal(del.json.issue[0].code, 'forbidden');
  assert.match(del.json.issue[0].diagnostics, /医师/);
  assert.equal((await http('GET', `${srv.base}/Patient/p2`)).status, 200, 'still there');
  assert.equal((await http('POST', `${srv.base}/$reindex`, { headers: bearer(t) })).status, 403);
  assert.equal((await http('GET', `${srv.base}/_history`, { headers: bearer(t) })).status, 403, 'system history needs every type');
});

test('scopes: a token asked for less than the role allows is held to it', async () => {
  const t = await login(origin, 'doc', pw.doc, 'user/Patient.rs user/Observation.rs user/Observation.d');
  assert.equal(t.scope, 'user/Patient.rs user/Observation.rs', 'nothing beyond the role: doctors do not delete observations');
  assert.equal((await http('GET', `${srv.base}/Patient/p1`, { headers: bearer(t.access_token) })).status, 200);
  assert.equal((await http('GET', `${srv.base}/Condition`, { headers: bearer(t.access_token) })).status, 403);
  const post = await http('POST', `${srv.base}/Observation`, { headers: bearer(t.access_token), body: { resourceType: 'Observation', status: 'final', code: { text: 'x' } } });
  assert.equal(post.status, 403);
  const bad = await http('POST', `${origin}/auth/token`, form({ grant_type: 'password', username: 'doc', password: pw.doc, scope: 'user/Nonsense.rs' }));
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error, 'invalid_scope');
});

test('includes, $everything and transactions never give what a direct request would refuse', async () => {
  const lab = (await login(origin, 'lab', pw.lab)).access_token;
  // the lab role reads patients and observations, not groups
  const inc = await http('GET', `${srv.base}/Patient?_id=p2&_revinclude=Group:member`, { headers: bearer(lab) });
  assert.equal(inc.status, 200);
  assert.deepEqual(inc.json.entry.map((e) => e.resource.resourceType), ['Patient']);
  const ev = await http('GET', `${srv.base}/Patient/p2/$everything`, { headers: bearer(lab) });
  assert.equal(ev.status, 200);
  assert.ok(!ev.json.entry.some((e) => e.resource.resourceType === 'Group'));
  const doc = (await login(origin, 'doc', pw.doc)).access_token;
  const tx = await http('POST', srv.base, {
    headers: bearer(doc),
    body: { resourceType: 'Bundle', type: 'transaction', entry: [
      { resource: { resourceType: 'Observation', id: 'tx-o', status: 'final', code: { text: 'x' } }, request: { method: 'PUT', url: 'Observation/tx-o' } },
      { request: { method: 'DELETE', url: 'Patient/p2' } },
    ] },
  });
  assert.equal(tx.status, 403);
  assert.equal((await http('GET', `${srv.base}/Observation/tx-o`)).status, 404, 'nothing of the transaction was written');
  const audit = await http('POST', `${srv.base}/AuditEvent`, { body: { resourceType: 'AuditEvent' } });
  assert.equal(audit.status, 405, 'the audit trail is written by the server only');
});

test('a resident sees only their own records, by every route', async () => {
  const t = await login(origin, 'res', pw.res);
  assert.equal(t.patient, 'p1', 'SMART launch context');
  assert.equal(t.scope, 'patient/*.rs patient/Consent.cruds');
  const h = bearer(t.access_token);
  const obs = await http('GET', `${srv.base}/Observation`, { headers: h });
  assert.equal(obs.status, 200);
  assert.deepEqual(obs.json.entry.map((e) => e.resource.subject.reference).filter((r) => r !== 'Patient/p1'), []);
  assert.ok(obs.json.entry.length >= 1);
  const pats = await http('GET', `${srv.base}/Patient`, { headers: h });
  assert.deepEqual(pats.json.entry.map((e) => e.resource.id), ['p1']);
  assert.equal((await http('GET', `${srv.base}/Patient/p1`, { headers: h })).status, 200);
  assert.equal((await http('GET', `${srv.base}/Patient/p2`, { headers: h })).status, 403);
  assert.equal((await http('GET', `${srv.base}/Observation/o-p2`, { headers: h })).status, 403);
  assert.equal((await http('GET', `${srv.base}/Observation/o-p2/_history`, { headers: h })).status, 403);
  assert.equal((await http('GET', `${srv.base}/Observation/_history`, { headers: h })).status, 403);
  assert.equal((await http('GET', `${srv.base}/Patient/p2/$everything`, { headers: h })).status, 403);
  const groups = await http('GET', `${srv.base}/Group`, { headers: h });
  assert.equal(groups.status, 200, 'Group is in the Patient compartment (member)');
  assert.equal((groups.json.entry || []).length, 0, 'but not a group of someone else');
  assert.equal((await http('GET', `${srv.base}/Group/g1`, { headers: h })).status, 403);
  assert.equal((await http('GET', `${srv.base}/Device`, { headers: h })).status, 403, 'a type outside the compartment that is not reference data');
  assert.equal((await http('GET', `${srv.base}/Organization/h1`, { headers: h })).status, 200, 'reference data is readable');
  const inc = await http('GET', `${srv.base}/Observation?_include=Observation:subject&_revinclude=Group:member`, { headers: h });
  assert.ok(inc.json.entry.every((e) => e.resource.resourceType !== 'Group' && (e.resource.id === 'p1' || e.resource.subject?.reference === 'Patient/p1')));
  const chained = await http('GET', `${srv.base}/Observation?subject:Patient.name=李四`, { headers: h });
  assert.equal(chained.json.total ?? (chained.json.entry || []).length, 0, 'a chain does not reach other patients');
  const bundle = await http('POST', srv.base, { headers: h, body: { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Patient/p2' } }, { request: { method: 'GET', url: 'Patient/p1' } }] } });
  assert.deepEqual(bundle.json.entry.map((e) => e.response.status.slice(0, 3)), ['403', '200']);
  const write = await http('PUT', `${srv.base}/Patient/p1`, { headers: h, body: { resourceType: 'Patient', id: 'p1' } });
  assert.equal(write.status, 403);
});

test('every access is audited; a resident sees who read their records, and only theirs', async () => {
  const doc = (await login(origin, 'doc', pw.doc)).access_token;
  assert.equal((await http('GET', `${srv.base}/Observation/o-p1`, { headers: { ...bearer(doc), 'X-Purpose-Of-Use': 'TREAT' } })).status, 200);
  assert.equal((await http('GET', `${srv.base}/Observation/o-p2`, { headers: bearer(doc) })).status, 200);
  await http('GET', `${srv.base}/Observation?code=abc`, { headers: bearer(doc) });
  await new Promise((r) => setTimeout(r, 300)); // read entries reach the trail with the next group commit
  const res = bearer((await login(origin, 'res', pw.res)).access_token);
  const mine = await http('GET', `${srv.base}/AuditEvent?_count=1000`, { headers: res });
  assert.equal(mine.status, 200);
  const events = mine.json.entry.map((e) => e.resource);
  const strays = events.filter((e) => !(e.entity || []).some((x) => x.what?.reference === 'Patient/p1'));
  assert.deepEqual(strays, [], 'only entries about p1');
  const docRead = events.find((e) => e.agent[0].who.identifier.value === 'doc' && (e.entity || []).some((x) => x.what?.reference === 'Observation/o-p1'));
  assert.ok(docRead, 'the doctor read of o-p1 is listed');
  assert.equal(docRead.action, 'R');
  assert.equal(docRead.subtype[0].code, 'read');
  assert.equal(docRead.outcome, '0');
  assert.equal(docRead.agent[0].purposeOfUse[0].text, 'TREAT');
  assert.equal(docRead.agent[1].who.reference, 'Organization/h1');
  assert.equal(docRead.agent[0].network.address, '127.0.0.1');
  assert.equal((await http('GET', `${srv.base}/AuditEvent?patient=p2`, { headers: res })).status, 403);
  // the administrator sees the whole trail: searches record the query, failures their outcome
  const all = (await http('GET', `${srv.base}/AuditEvent?_count=1000`)).json.entry.map((e) => e.resource);
  const search = all.find((e) => e.subtype[0].code === 'search-type' && e.agent[0].who.identifier.value === 'doc' && (e.entity || []).some((x) => x.query && Buffer.from(x.query, 'base64').toString() === 'code=abc'));
  assert.ok(search, 'the search is recorded with its query');
  assert.ok(all.some((e) => e.subtype[0].code === 'delete' && e.outcome === '4'), 'refused requests are recorded');
  assert.ok(all.some((e) => e.subtype[0].code === 'login' && e.agent[0].who.identifier.value === 'locky' && e.outcome === '4'), 'failed logins are recorded');
  assert.ok(all.some((e) => e.subtype[0].code === 'create' && e.outcome === '0'), 'writes are recorded');
  // the trail holds together while the server runs
  const verify = cli(['audit', 'verify', '--data', srv.dir]);
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  assert.match(verify.stdout, /audit trail whole: \d+ entries/);
});

test('no patient data reaches the logs', async () => {
  await http('GET', `${srv.base}/Patient?name=张三丰&identifier=410102199001011234`);
  await http('GET', `${srv.base}/Patient/p1`);
  await http('POST', `${origin}/auth/token`, form({ grant_type: 'password', username: 'doc', password: 'wrong-password' }));
  await new Promise((r) => setTimeout(r, 100));
  const log = srv.stderr();
  assert.match(log, /access req=/, 'the access log is on');
  for (const secret of ['张三丰', '410102199001011234', '%E5%BC%A0', 'wrong-password', pw.doc]) assert.ok(!log.includes(secret), `the log holds '${secret}'`);
});

test('a fresh installation creates one administrator with a one-time password that must be changed', async () => {
  const dir = tempDir();
  const init = cli(['init', '--data', dir]);
  assert.equal(init.status, 0, init.stderr);
  const m = init.stdout.match(/'admin' with the one-time password (\S+)/);
  assert.ok(m, init.stdout);
  assert.ok(!cli(['init', '--data', dir]).stdout.includes('one-time'), 'printed once only');
  const s2 = await startServer({ dir });
  try {
    const o = s2.base.replace(/\/fhir$/, '');
    const first = await http('POST', `${o}/auth/token`, form({ grant_type: 'password', username: 'admin', password: m[1] }));
    assert.equal(first.status, 400);
    assert.match(first.json.error_description, /one-time password/);
    const change = await http('POST', `${o}/auth/password`, form({ username: 'admin', password: m[1], new_password: 'a-new-admin-password' }));
    assert.equal(change.status, 200);
    const t = await login(o, 'admin', 'a-new-admin-password');
    assert.equal(t.scope, 'user/*.cruds');
    const me = await http('GET', `${o}/auth/me`, { headers: bearer(t.access_token) });
    assert.equal(me.json.role, 'platform-admin');
    assert.equal(me.json.roleName.zh, '平台管理员');
  } finally {
    await s2.stop();
    s2.cleanup();
  }
});

test('audit verify detects an altered, a removed and a reordered entry', async () => {
  const dir = tempDir();
  const s2 = await startServer({ dir });
  for (let i = 0; i < 5; i++) await http('GET', `${s2.base}/Patient?_id=x${i}`);
  await s2.stop();
  const db = join(dir, 'audit.db'); // the trail's own file, beside yujian.db
  const sql = (q) => spawnSync('sqlite3', [db, q], { encoding: 'utf8' });
  assert.equal(cli(['audit', 'verify', '--data', dir]).status, 0);
  assert.match(sql('UPDATE audit SET json = json WHERE seq = 1').stderr, /append-only/, 'the trail refuses changes');
  assert.match(spawnSync('sqlite3', [join(dir, 'yujian.db'), 'SELECT count(*) FROM audit'], { encoding: 'utf8' }).stderr,
    /no such table/, 'the database holds no trail of its own');
  const copy = (name) => { const d = tempDir(); spawnSync('cp', [db, join(d, 'audit.db')]); return [d, (q) => spawnSync('sqlite3', [join(d, 'audit.db'), 'DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; ' + q], { encoding: 'utf8' })]; };
  const cases = [
    ['altered', "UPDATE audit SET json = replace(json, 'search-type', 'read') WHERE seq = 3", 3],
    ['removed', 'DELETE FROM audit WHERE seq = 2', 3],
    ['reordered', 'UPDATE audit SET json = (SELECT json FROM audit WHERE seq = 5), hash = (SELECT hash FROM audit WHERE seq = 5) WHERE seq = 4', 4],
  ];
  for (const [what, q, at] of cases) {
    const [d, run] = copy(what);
    const r = run(q);
    assert.equal(r.status, 0, r.stderr);
    const v = cli(['audit', 'verify', '--data', d]);
    assert.equal(v.status, 1, `${what}: ${v.stdout}`);
    assert.match(v.stdout, new RegExp(`BROKEN at entry ${at}`), `${what}: ${v.stdout}`);
  }
});

test('docs/security.md shows the permission matrix the server enforces', async () => {
  const { readFileSync } = await import('node:fs');
  const { ROOT } = await import('./helpers.mjs');
  const doc = readFileSync(join(ROOT, 'docs', 'security.md'), 'utf8');
  const lines = cli(['user', 'roles']).stdout.trim().split('\n');
  assert.ok(lines.length >= 24);
  for (let i = 0; i < lines.length; i += 2) {
    const code = lines[i].split(/\s+/)[0];
    const scopes = lines[i + 1].trim().split(/\s+/).map((x) => '`' + x + '`').join(' ');
    assert.ok(doc.includes(`| \`${code}\` |`) && doc.includes(scopes), `role ${code} differs in docs/security.md`);
  }
});
