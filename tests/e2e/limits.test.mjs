// limits.test.mjs - hostile clients meet clear limits and the server keeps
// serving everyone else: requests per address and per account (429 with
// Retry-After), connections per address, and clients that trickle a body.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startServer, http, addUser, login, tempDir } from './helpers.mjs';

let srv, origin;

before(async () => {
  const dir = tempDir();
  addUser(dir, 'busy', 'doctor', 'busy-password', ['--org', 'Organization/h1']);
  addUser(dir, 'calm', 'doctor', 'calm-password', ['--org', 'Organization/h1']);
  srv = await startServer({ dir, args: ['--rate-per-user', '5', '--burst-per-user', '5', '--request-timeout', '2', '--max-connections-per-address', '4'] });
  origin = srv.base.replace(/\/fhir$/, '');
});
after(async () => { await srv.stop(); srv.cleanup(); });

test('an account over its rate gets 429 with Retry-After; other accounts are served', async () => {
  const busy = { Authorization: `Bearer ${(await login(origin, 'busy', 'busy-password')).access_token}` };
  const calm = { Authorization: `Bearer ${(await login(origin, 'calm', 'calm-password')).access_token}` };
  const statuses = [];
  for (let i = 0; i < 12; i++) statuses.push((await http('GET', `${srv.base}/Organization`, { headers: busy })).status);
  assert.ok(statuses.slice(0, 5).every((s) => s === 200), statuses.join());
  assert.ok(statuses.includes(429), statuses.join());
  const refused = await http('GET', `${srv.base}/Organization`, { headers: busy });
  assert.equal(refused.status, 429);
  assert.equal(refused.json.resourceType, 'OperationOutcome');
  assert.equal(refused.json.issue[0].code, 'throttled');
  assert.ok(Number(refused.headers.get('retry-after')) >= 1);
  assert.equal((await http('GET', `${srv.base}/Organization`, { headers: calm })).status, 200, 'another account is served');
  await new Promise((r) => setTimeout(r, 1300));
  assert.equal((await http('GET', `${srv.base}/Organization`, { headers: busy })).status, 200, 'the bucket refills');
});

test('connections opened at once are spread over the worker threads, the fewest-loaded first', async () => {
  // libmicrohttpd's own pool let the first worker to wake accept a whole series: often every
  // connection of a client on one thread, one core for all its requests (docs/performance.md)
  const s2 = await startServer({ args: ['--threads', '4', '--access-log', '1'] });
  const socks = [];
  try {
    await Promise.all(Array.from({ length: 8 }, () => new Promise((resolve, reject) => {
      const sock = connect(s2.port, '127.0.0.1');
      socks.push(sock);
      let data = '';
      sock.on('error', reject);
      sock.on('data', (d) => { data += d; if (data.includes('\r\n\r\n')) resolve(); });
      sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'); // keep-alive: the connections stay open
    })));
    // a request's access line is written as it completes, and reaches us through a pipe: wait for it
    const logged = () => [...(s2.stderr() + s2.stdout()).matchAll(/access req=\S+ method=GET path="\/healthz".* worker=(\d+)/g)].map((m) => Number(m[1]));
    for (let i = 0; i < 100 && logged().length < 8; i++) await new Promise((r) => setTimeout(r, 20));
    const workers = logged();
    assert.equal(workers.length, 8, 'eight requests logged');
    const per = [0, 1, 2, 3].map((w) => workers.filter((x) => x === w).length);
    assert.deepEqual(per, [2, 2, 2, 2], `connections per worker: ${per}`);
  } finally {
    for (const s of socks) s.destroy();
    await s2.stop();
    s2.cleanup();
  }
});

test('an address over its rate gets 429 before any work is done', async () => {
  const s2 = await startServer({ args: ['--rate-per-address', '3', '--burst-per-address', '3'] });
  try {
    const o = s2.base.replace(/\/fhir$/, '');
    const statuses = [];
    for (let i = 0; i < 8; i++) {
      const r = await fetch(`${o}/auth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username: 'x', password: 'guess-guess' }), headers: { Authorization: '' } });
      statuses.push(r.status);
    }
    assert.ok(statuses.includes(429), `password guessing from one address is slowed: ${statuses.join()}`);
    assert.equal((await http('GET', `${o}/healthz`, { headers: { Authorization: '' } })).status, 429);
  } finally {
    await s2.stop();
    s2.cleanup();
  }
});

// A raw connection: resolves with what the server sent and whether it closed within ms.
function rawExchange(port, write, ms) {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let data = '';
    let closed = false;
    const timer = setTimeout(() => { sock.destroy(); resolve({ data, closed }); }, ms);
    sock.on('data', (d) => { data += d; });
    sock.on('error', () => {});
    sock.on('close', () => { closed = true; clearTimeout(timer); resolve({ data, closed }); });
    write(sock);
  });
}

test('a client trickling its body is cut off; others are served meanwhile', async () => {
  const started = Date.now();
  const slow = rawExchange(srv.port, (sock) => {
    sock.write('POST /fhir/Observation HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nContent-Length: 1000\r\n\r\n{');
    const t = setInterval(() => { if (!sock.destroyed) sock.write(' '); else clearInterval(t); }, 400);
    sock.on('close', () => clearInterval(t));
  }, 8000);
  assert.equal((await http('GET', `${srv.base}/Organization`)).status, 200, 'served while the slow client trickles');
  const r = await slow;
  assert.ok(r.closed, 'the slow client was disconnected');
  assert.ok(Date.now() - started < 7000, 'within the request timeout, not the test timeout');
});

test('connections per address are limited; the server keeps serving', async () => {
  // six connections at once, each asking once and staying open: at most four are served
  const socks = [];
  const answers = await Promise.all(Array.from({ length: 6 }, () => new Promise((resolve) => {
    const sock = connect(srv.port, '127.0.0.1');
    socks.push(sock);
    let data = '';
    const done = () => resolve(data.includes('200 OK'));
    sock.on('error', done);
    sock.on('close', done);
    sock.on('data', (d) => { data += d; if (data.includes('200 OK')) done(); });
    sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    setTimeout(done, 3000);
  })));
  const served = answers.filter(Boolean).length;
  assert.ok(served <= 4, `${served} of 6 connections served; the limit is 4`);
  assert.ok(served < 6, 'some connections were refused');
  for (const s of socks) s.destroy();
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await http('GET', `${srv.base}/Organization`)).status, 200, 'served again once they close');
});

test('every response carries the security headers; a page keeps its own content policy', async () => {
  const api = await http('GET', `${srv.base}/Organization`);
  assert.equal(api.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(api.headers.get('x-frame-options'), 'DENY');
  assert.equal(api.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(api.headers.get('cache-control'), 'no-store', 'health records are not cached');
  assert.match(api.headers.get('content-security-policy'), /default-src 'none'/);
  const page = await http('GET', `${origin}/`);
  assert.equal(page.headers.get('content-security-policy'), "default-src 'self'");
  assert.equal(page.headers.get('x-frame-options'), 'DENY');
});

test('behind a trusted proxy the client is the address it forwarded; others cannot claim one', async () => {
  const s2 = await startServer({ args: ['--rate-per-address', '3', '--burst-per-address', '3', '--trusted-proxies', '127.0.0.1'] });
  const s3 = await startServer({ args: ['--rate-per-address', '3', '--burst-per-address', '3'] });
  try {
    const get = (srv, xff) => http('GET', `${srv.base.replace(/\/fhir$/, '')}/healthz`, { headers: { Authorization: '', 'X-Forwarded-For': xff } });
    const first = [];
    for (let i = 0; i < 6; i++) first.push((await get(s2, '198.51.100.7')).status);
    assert.ok(first.includes(429), `one forwarded client is limited: ${first.join()}`);
    assert.equal((await get(s2, '198.51.100.8')).status, 200, 'another forwarded client is not');
    assert.equal((await get(s2, 'forged, 198.51.100.9')).status, 200, 'the rightmost address is the one the proxy saw');
    // the audit trail records the forwarded client
    await http('GET', `${s2.base}/Patient?_id=x`, { headers: { 'X-Forwarded-For': '203.0.113.5' } });
    await new Promise((r) => setTimeout(r, 300));
    const trail = (await http('GET', `${s2.base}/AuditEvent?_count=1000`, { headers: { 'X-Forwarded-For': '203.0.113.6' } })).json.entry.map((e) => e.resource);
    assert.ok(trail.some((e) => e.agent[0].network?.address === '203.0.113.5'), 'audited with the client address');
    // a server that trusts no proxy ignores the header: one address, one bucket
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await get(s3, `198.51.100.${i}`)).status);
    assert.ok(statuses.includes(429), `X-Forwarded-For is not trusted by default: ${statuses.join()}`);
  } finally {
    await s2.stop(); s2.cleanup();
    await s3.stop(); s3.cleanup();
  }
});

test('long strings, long arrays and huge headers get a clear answer; the server keeps serving', async () => {
  const s2 = await startServer({ args: ['--max-string', '2048', '--max-array', '100'] });
  try {
    const long = await http('POST', `${s2.base}/Patient`, { body: { resourceType: 'Patient', name: [{ text: 'x'.repeat(3000) }] } });
    assert.equal(long.status, 413);
    assert.match(long.json.issue[0].diagnostics, /fhir\.max_string_bytes/);
    const many = await http('POST', `${s2.base}/Patient`, { body: { resourceType: 'Patient', identifier: Array.from({ length: 150 }, (_, i) => ({ value: String(i) })) } });
    assert.equal(many.status, 413);
    assert.match(many.json.issue[0].diagnostics, /fhir\.max_array_items/);
    const inBundle = await http('POST', s2.base, { body: { resourceType: 'Bundle', type: 'batch', entry: [{ resource: { resourceType: 'Patient', name: [{ text: 'y'.repeat(3000) }] }, request: { method: 'POST', url: 'Patient' } }] } });
    assert.equal(inBundle.status, 413, 'a bundle is held to the same limits');
    const deep = await http('POST', `${s2.base}/Patient`, { body: `{"resourceType":"Patient","extension":${'['.repeat(100)}${']'.repeat(100)}}` });
    assert.equal(deep.status, 413);
    assert.match(deep.json.issue[0].diagnostics, /nesting deeper than 64/);
    assert.equal((await http('GET', `${s2.base}/Patient?_summary=count`)).json.total, 0, 'nothing was written');
    assert.equal((await http('POST', `${s2.base}/Patient`, { body: { resourceType: 'Patient', name: [{ text: 'z'.repeat(2000) }] } })).status, 201);
  } finally {
    await s2.stop();
    s2.cleanup();
  }
  // request headers beyond the connection's memory are refused, and only that request
  const huge = await rawExchange(srv.port, (sock) => sock.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100000)}\r\n\r\n`), 3000);
  assert.match(huge.data, /^HTTP\/1\.1 431/, `answered: ${huge.data.slice(0, 40)}`);
  assert.equal((await http('GET', `${srv.base}/Organization`)).status, 200);
});

test('includes stop at the limit with a warning; _count is capped at the maximum', async () => {
  const s2 = await startServer({ args: ['--max-includes', '2', '--max-count', '3'] });
  try {
    assert.equal((await http('PUT', `${s2.base}/Patient/inc`, { body: { resourceType: 'Patient', id: 'inc' } })).status, 201);
    for (let i = 0; i < 5; i++) await http('POST', `${s2.base}/Observation`, { body: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/inc' } } });
    const r = await http('GET', `${s2.base}/Patient?_id=inc&_revinclude=Observation:subject`);
    assert.equal(r.status, 200);
    const modes = r.json.entry.map((e) => e.search.mode);
    assert.deepEqual(modes.filter((m) => m === 'include').length, 2, 'two includes, no more');
    const outcome = r.json.entry.find((e) => e.search.mode === 'outcome');
    assert.match(outcome.resource.issue[0].diagnostics, /fhir\.max_includes/);
    const page = await http('GET', `${s2.base}/Observation?_count=1000`);
    assert.equal(page.json.entry.length, 3, '_count is capped at fhir.max_count');
    assert.ok(page.json.link.some((l) => l.relation === 'next'));
  } finally {
    await s2.stop();
    s2.cleanup();
  }
});

test('a full store answers 507 no-store, pauses access while the audit trail cannot be written, keeps what it had, and takes writes again once it has room', async () => {
  const s2 = await startServer({ args: ['--max-db-mb', '2'] });
  let again;
  try {
    const big = (i) => ({ resourceType: 'Basic', id: `fill-${i}`, code: { text: String(i).padStart(200 * 1024, 'x') } });
    let stored = 0, full;
    for (let i = 0; i < 40 && !full; i++) {
      const r = await http('PUT', `${s2.base}/Basic/fill-${i}`, { body: big(i) });
      if (r.status === 507) full = r;
      else { assert.ok(r.status === 201, `PUT ${i}: ${r.status}`); stored++; }
    }
    assert.ok(full, 'the store filled up');
    assert.ok(stored > 0);
    assert.equal(full.json.resourceType, 'OperationOutcome');
    assert.equal(full.json.issue[0].code, 'no-store');
    assert.match(full.json.issue[0].details.text, /存储空间已满.*storage is full/);
    // a transaction that does not fit leaves nothing, its small entry included
    const tx = await http('POST', s2.base, { body: { resourceType: 'Bundle', type: 'transaction', entry: [
      { resource: { resourceType: 'Basic', id: 'small', code: { text: 'small' } }, request: { method: 'PUT', url: 'Basic/small' } },
      { resource: big('tx'), request: { method: 'PUT', url: 'Basic/fill-tx' } }] } });
    assert.equal(tx.status, 507);
    // while small writes fit, reads are served; fill it up to the last page with smaller and smaller ones
    let small = 0;
    for (const size of [20000, 2000, 200, 20])
      for (let i = 0; i < 300; i++) {
        const r = await http('PUT', `${s2.base}/Basic/s-${small}`, { body: { resourceType: 'Basic', id: `s-${small}`, code: { text: 'y'.repeat(size) } } });
        if (r.status !== 201) { assert.ok([503, 507].includes(r.status), `small PUT: ${r.status}`); break; }
        small++;
      }
    // reads are still served and audited: the trail is a file of its own, with the same limit
    assert.equal((await http('GET', `${s2.base}/Basic/fill-0`)).status, 200);
    // once the trail is full too, its entries cannot be written: no access without its entry
    // (searches whose entries carry a long query fill it quickly)
    let paused;
    const long = 'x'.repeat(6000);
    for (let i = 0; i < 2000 && !paused; i++) {
      const r = await http('GET', `${s2.base}/Basic?_id=${long}${i}`);
      if (r.status === 503) paused = r;
      else assert.equal(r.status, 200);
    }
    assert.ok(paused, 'reads are refused while the audit trail cannot be written');
    assert.match(paused.json.issue[0].diagnostics, /审计记录暂时无法写入.*audit trail cannot be written/);
    assert.ok(Number(paused.headers.get('retry-after')) >= 1);
    await s2.stop();
    again = await startServer({ dir: s2.dir });
    assert.equal((await http('GET', `${again.base}/Basic/small`)).status, 404, 'nothing of the transaction');
    for (let i = 0; i < stored; i++)
      assert.equal((await http('GET', `${again.base}/Basic/fill-${i}`)).json.code.text, big(i).code.text);
    const r = await http('PUT', `${again.base}/Basic/fill-${stored}`, { body: big(stored) });
    assert.equal(r.status, 201);
  } finally {
    if (again) await again.stop();
    else await s2.stop().catch(() => {});
    s2.cleanup();
  }
});
