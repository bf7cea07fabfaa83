// cli.test.mjs - the yujian command line: help, configuration precedence and
// errors (exit 2), init, import of Bundles and NDJSON, the demo data set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { cli, tempDir, startServer, http } from './helpers.mjs';

test('help lists commands and every option with its environment variable', () => {
  const top = cli(['--help']);
  assert.equal(top.status, 0);
  for (const c of ['serve', 'init', 'import', 'demo']) assert.match(top.stdout, new RegExp(`\\b${c}\\b`));
  const serve = cli(['serve', '--help']);
  assert.equal(serve.status, 0);
  assert.match(serve.stdout, /--port .*YUJIAN_SERVER_PORT/);
  assert.match(serve.stdout, /--config FILE/);
  const none = cli([]);
  assert.equal(none.status, 2);
  assert.equal(cli(['frobnicate']).status, 2);
  assert.match(cli(['--version']).stdout, /^yujian \d+\.\d+\.\d+/);
});

test('bad configuration is a clear message and exit code 2', () => {
  const dir = tempDir();
  try {
    const r1 = cli(['serve', '--port', '99999', '--data', dir]);
    assert.equal(r1.status, 2);
    assert.match(r1.stderr, /server\.port.*outside 0\.\.65535/);
    const r2 = cli(['serve', '--no-such-flag', '1']);
    assert.equal(r2.status, 2);
    assert.match(r2.stderr, /unknown option '--no-such-flag'/);
    const r3 = cli(['serve', '--data', dir], { env: { ...process.env, YUJIAN_SERVER_THREADS: 'many' } });
    assert.equal(r3.status, 2);
    assert.match(r3.stderr, /YUJIAN_SERVER_THREADS/);
    const file = join(dir, 'bad.conf');
    writeFileSync(file, 'server.port = 8080\nnonsense\n');
    const r4 = cli(['serve', '--config', file]);
    assert.equal(r4.status, 2);
    assert.match(r4.stderr, /bad\.conf:2/);
    assert.equal(cli(['serve', '--config', join(dir, 'missing.conf')]).status, 2);
    assert.equal(cli(['serve', '--log-level', 'loud']).status, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('precedence: default < file < environment < flag', async () => {
  const dir = tempDir();
  const file = join(dir, 'y.conf');
  writeFileSync(file, `fhir.default_count = 3\nfhir.max_count = 4\nserver.port = 1\n`);
  // the file says port 1; the flag (--port 0 from startServer) wins
  const srv = await startServer({ dir, args: ['--config', file], env: { YUJIAN_FHIR_MAX_COUNT: '5' } });
  try {
    for (let i = 0; i < 7; i++) {
      await http('PUT', `${srv.base}/Patient/p${i}`, { body: { resourceType: 'Patient', id: `p${i}` } });
    }
    const def = await http('GET', `${srv.base}/Patient/_history`);
    assert.equal(def.json.entry.length, 3, 'default_count from the file');
    const max = await http('GET', `${srv.base}/Patient/_history?_count=100`);
    assert.equal(max.json.entry.length, 5, 'max_count from the environment beats the file');
  } finally {
    await srv.stop();
    srv.cleanup();
  }
});

test('init creates the database; import loads a Bundle and NDJSON and reports rejects', async () => {
  const dir = tempDir();
  try {
    const init = cli(['init', '--data', dir]);
    assert.equal(init.status, 0, init.stderr);
    const bundle = join(dir, 'b.json');
    writeFileSync(bundle, JSON.stringify({
      resourceType: 'Bundle', type: 'collection', entry: [
        { resource: { resourceType: 'Patient', id: 'imp-1', gender: 'female' } },
        { resource: { resourceType: 'Organization', id: 'imp-org', name: '郑州市中心医院' } },
      ],
    }, null, 2));
    const r1 = cli(['import', '--data', dir, bundle]);
    assert.equal(r1.status, 0, r1.stderr);
    assert.match(r1.stdout, /imported 2 resources, rejected 0/);
    const nd = join(dir, 'r.ndjson');
    writeFileSync(nd, [
      JSON.stringify({ resourceType: 'Patient', id: 'imp-2' }),
      JSON.stringify({ resourceType: 'Patient', birthDate: 'not-a-date' }),
      '{"broken json',
      JSON.stringify({ resourceType: 'Patient' }),
      '',
    ].join('\n'));
    const r2 = cli(['import', '--data', dir, nd]);
    assert.equal(r2.status, 1, 'rejects make the exit status 1');
    assert.match(r2.stdout, /imported 2 resources, rejected 2/);
    assert.match(r2.stderr, /line 2: Patient\.birthDate/);
    assert.match(r2.stderr, /line 3/);
    const srv = await startServer({ dir });
    try {
      assert.equal((await http('GET', `${srv.base}/Patient/imp-1`)).json.gender, 'female');
      assert.equal((await http('GET', `${srv.base}/Organization/imp-org`)).json.name, '郑州市中心医院');
      assert.equal((await http('GET', `${srv.base}/Patient/imp-2`)).status, 200);
    } finally {
      await srv.stop();
    }
    const stdin = cli(['import', '--data', dir, '-'], { input: JSON.stringify({ resourceType: 'Patient', id: 'from-stdin' }) });
    assert.equal(stdin.status, 0, stdin.stderr);
    assert.equal(cli(['import', '--data', dir, join(dir, 'nope.json')]).status, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('demo data: deterministic, valid, with Henan hospitals and valid resident ids', async () => {
  const a = tempDir();
  try {
    const r = cli(['demo', '--data', a, '20']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /demo data: \d+ resources loaded, 0 rejected/);
    const srv = await startServer({ dir: a });
    try {
      const org = await http('GET', `${srv.base}/Organization/org-zzu1`);
      assert.equal(org.json.name, '郑州大学第一附属医院');
      const city = await http('GET', `${srv.base}/Organization/hc-419001`);
      assert.equal(city.json.name, '济源示范区卫生健康委员会');
      const p = await http('GET', `${srv.base}/Patient/pat-0001`);
      const idno = p.json.identifier[0].value;
      assert.match(idno, /^\d{17}[\dX]$/);
      const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
      const sum = [...idno.slice(0, 17)].reduce((s, d, i) => s + Number(d) * w[i], 0);
      assert.equal(idno[17], '10X98765432'[sum % 11], 'GB 11643 check digit');
      const obs = await http('GET', `${srv.base}/Observation/obs-0001-0`);
      assert.equal(obs.json.subject.reference, 'Patient/pat-0001');
      const dr = await http('GET', `${srv.base}/DiagnosticReport/dr-0001`);
      assert.equal(dr.json.result.length, 5);
      // same seed, same data
      const b = tempDir();
      try {
        cli(['demo', '--data', b, '20']);
        const srv2 = await startServer({ dir: b });
        try {
          const p2 = await http('GET', `${srv2.base}/Patient/pat-0001`);
          delete p.json.meta; delete p2.json.meta;
          assert.deepEqual(p2.json, p.json);
        } finally { await srv2.stop(); }
      } finally { rmSync(b, { recursive: true, force: true }); }
    } finally {
      await srv.stop();
    }
  } finally {
    rmSync(a, { recursive: true, force: true });
  }
});

test('reindex rebuilds; reindex --verify checks the index and says so in its exit code', () => {
  const dir = tempDir();
  try {
    assert.equal(cli(['demo', '--data', dir, '5']).status, 0);
    const ok = cli(['reindex', '--data', dir, '--verify']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /verified (\d+) resources: 0 differ, 0 stale/);
    assert.ok(Number(ok.stdout.match(/verified (\d+)/)[1]) > 50);
    // damage the index behind the server's back: one entry changed
    const db = join(dir, 'yujian.db');
    const sql = spawnSync('sqlite3', [db, "UPDATE sp_token SET code = 'tampered' WHERE (key, param, system, code) = (SELECT key, param, system, code FROM sp_token LIMIT 1)"]);
    assert.equal(sql.status, 0, String(sql.stderr));
    const bad = cli(['reindex', '--data', dir, '--verify']);
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, /differs: \w+\/\S+/);
    assert.match(bad.stdout, /1 differ/);
    const rebuild = cli(['reindex', '--data', dir]);
    assert.equal(rebuild.status, 0, rebuild.stderr);
    assert.match(rebuild.stdout, /reindexed \d+ resources/);
    assert.equal(cli(['reindex', '--data', dir, '--verify']).status, 0);
    assert.equal(cli(['reindex', '--data', dir, '--bogus']).status, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
