// durability.test.mjs - kill -9 during a concurrent write load loses no
// acknowledged write and leaves no partial write; SIGTERM lets requests in
// flight finish and closes cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, http, tempDir, SANITIZED, login, ADMIN } from './helpers.mjs';
import { rmSync } from 'node:fs';

const obs = (id, n) => ({
  resourceType: 'Observation', id, status: 'final', code: { text: 'load' },
  valueQuantity: { value: n, unit: 'mmol/L' },
});

test('kill -9 under concurrent writes loses no acknowledged write', async () => {
  const dir = tempDir();
  const srv = await startServer({ dir });
  const acked = new Map(); // "Observation/id" -> highest acknowledged version
  let stop = false;
  let errors = 0;
  async function writer(w) {
    for (let i = 0; !stop; i++) {
      const id = `w${w}-${i % 20}`;
      try {
        const r = await http('PUT', `${srv.base}/Observation/${id}`, { body: obs(id, i) });
        if (r.status === 200 || r.status === 201) {
          const v = Number(r.json.meta.versionId);
          if (!(acked.get(id) >= v)) acked.set(id, v);
        }
      } catch { errors++; return; } // the server died under us
    }
  }
  const writers = Array.from({ length: 16 }, (_, w) => writer(w));
  await new Promise((r) => setTimeout(r, SANITIZED ? 3000 : 1500));
  await srv.kill9();
  stop = true;
  await Promise.all(writers);
  assert.ok(acked.size > 50, `load too small to mean anything: ${acked.size} resources acknowledged`);

  const again = await startServer({ dir });
  try {
    for (const [id, v] of acked) {
      const r = await http('GET', `${again.base}/Observation/${id}`);
      assert.equal(r.status, 200, `acknowledged ${id} v${v} lost`);
      assert.ok(Number(r.json.meta.versionId) >= v, `${id}: acknowledged v${v}, found v${r.json.meta.versionId}`);
      // every version in history is whole and readable
      const h = await http('GET', `${again.base}/Observation/${id}/_history?_count=1000`);
      const versions = h.json.entry.map((e) => Number(e.resource.meta.versionId));
      assert.deepEqual(versions, versions.map((_, i) => versions.length - i), `${id}: versions not 1..n`);
      assert.ok(h.json.entry.every((e) => e.resource.valueQuantity.unit === 'mmol/L'));
    }
    // the store still takes writes after recovery
    assert.equal((await http('PUT', `${again.base}/Observation/after`, { body: obs('after', 1) })).status, 201);
  } finally {
    await again.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGTERM finishes requests in flight, then exits 0', async () => {
  const srv = await startServer();
  try {
    const inflight = Array.from({ length: 20 }, (_, i) => http('PUT', `${srv.base}/Observation/t${i}`, { body: obs(`t${i}`, i) }));
    await new Promise((r) => setTimeout(r, 5));
    const exited = srv.stop();
    const results = await Promise.allSettled(inflight);
    const { code } = await exited;
    assert.equal(code, 0);
    assert.match(srv.stderr(), /stopped/);
    // every write that was answered is in the store after restart
    const again = await startServer({ dir: srv.dir });
    try {
      for (let i = 0; i < results.length; i++) {
        if (results[i].status === 'fulfilled' && results[i].value.status === 201) {
          assert.equal((await http('GET', `${again.base}/Observation/t${i}`)).status, 200);
        }
      }
    } finally {
      await again.stop();
    }
  } finally {
    srv.cleanup();
  }
});

test('SIGTERM during a continuous write load over keep-alive connections exits cleanly', async () => {
  // Regression: a request arriving on a kept-alive connection after the in-flight count reached
  // zero used to suspend for its commit, and libmicrohttpd aborts when stopped with one suspended.
  for (let round = 0; round < 5; round++) {
    const srv = await startServer();
    try {
      let stop = false;
      let acked = 0;
      const worker = async (w) => {
        for (let i = 0; !stop; i++) {
          try {
            const r = await http('PUT', `${srv.base}/Observation/k${w}-${i % 5}`, { body: obs(`k${w}-${i % 5}`, i) });
            if (r.status === 200 || r.status === 201) acked++;
            else if (r.status === 503) assert.equal(r.json.resourceType, 'OperationOutcome');
          } catch { return; }
        }
      };
      const workers = Array.from({ length: 8 }, (_, w) => worker(w));
      await new Promise((r) => setTimeout(r, 200 + round * 100));
      const { code } = await srv.stop(); // throws on a sanitizer report or a non-zero exit
      stop = true;
      await Promise.all(workers);
      assert.equal(code, 0);
      assert.ok(acked > 0);
    } finally {
      srv.cleanup();
    }
  }
});

test('clients that hang up while their writes commit do not keep the server from stopping', async () => {
  // Regression: libmicrohttpd ends a request whose client left while it was suspended without
  // calling the server again, so its continuation never ran and a SIGTERM waited for it forever.
  const srv = await startServer();
  try {
    const { connect } = await import('node:net');
    const token = (await login(`http://127.0.0.1:${srv.port}`, ADMIN.user, ADMIN.password)).access_token;
    const hangUp = (i) => new Promise((resolve) => {
      const body = JSON.stringify(obs(`gone-${i}`, i));
      const s = connect(srv.port, '127.0.0.1', () => {
        s.write(`PUT /fhir/Observation/gone-${i} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
          `Content-Type: application/fhir+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
        setImmediate(() => { s.destroy(); resolve(); });
      });
      s.on('error', resolve);
    });
    for (let round = 0; round < 10; round++) await Promise.all(Array.from({ length: 16 }, (_, i) => hangUp(round * 16 + i)));
    await new Promise((r) => setTimeout(r, 300));
    const stopped = await Promise.race([srv.stop(), new Promise((r) => setTimeout(() => r('hung'), 20000))]);
    assert.notEqual(stopped, 'hung', 'the server did not stop within 20 s');
    assert.equal(stopped.code, 0);
  } finally {
    if (srv.proc.exitCode === null) srv.proc.kill('SIGKILL');
    srv.cleanup();
  }
});
