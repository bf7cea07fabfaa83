// console_files.test.mjs - the server hands out the web console's files
// (server.web_dir under /console/): types, content policy, no way out of the
// directory, only GET and HEAD, nothing when the option is empty.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startServer, tempDir } from './helpers.mjs';

let server;
let origin;
const web = tempDir();

before(async () => {
  mkdirSync(join(web, 'sub'));
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(web, 'app.js'), 'export const x = 1;');
  writeFileSync(join(web, 'sub', 'style.css'), 'body{}');
  writeFileSync(join(web, '.secret.js'), 'hidden');
  writeFileSync(join(web, 'notes.txt'), 'no type for this');
  server = await startServer({ args: ['--web-dir', web] });
  origin = `http://127.0.0.1:${server.port}`;
});

after(async () => {
  await server.stop();
  server.cleanup();
});

const get = (path, init = {}) => fetch(`${origin}${path}`, { redirect: 'manual', ...init, headers: { Authorization: '', ...(init.headers || {}) } });

test('the page, its scripts and styles, with their types and the console\'s content policy', async () => {
  for (const [path, type, body] of [
    ['/console/', 'text/html; charset=utf-8', '<!doctype html><title>t</title>'],
    ['/console/index.html', 'text/html; charset=utf-8', '<!doctype html><title>t</title>'],
    ['/console/app.js', 'text/javascript; charset=utf-8', 'export const x = 1;'],
    ['/console/sub/style.css', 'text/css; charset=utf-8', 'body{}'],
  ]) {
    const r = await get(path);
    assert.equal(r.status, 200, path);
    assert.equal(r.headers.get('content-type'), type, path);
    assert.equal(await r.text(), body, path);
    assert.match(r.headers.get('content-security-policy'), /^default-src 'self';/);
    assert.match(r.headers.get('content-security-policy'), /frame-ancestors 'none'/);
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  }
  const head = await get('/console/app.js', { method: 'HEAD' });
  assert.equal(head.status, 200);
});

test('/console redirects to /console/ so the page\'s relative links work', async () => {
  const r = await get('/console');
  assert.equal(r.status, 301);
  assert.equal(r.headers.get('location'), '/console/');
});

// One request as written (fetch would normalise the dots away): the status line and the body.
function raw(path) {
  return new Promise((resolve, reject) => {
    const sock = connect(server.port, '127.0.0.1', () => sock.end(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let out = '';
    sock.on('data', (d) => { out += d; });
    sock.on('end', () => resolve({ status: Number(out.split(' ')[1]), body: out.slice(out.indexOf('\r\n\r\n') + 4) }));
    sock.on('error', reject);
  });
}

test('no way out of the directory, no hidden files, no unknown types, nothing missing', async () => {
  for (const path of ['/console/../README.md', '/console/%2e%2e/README.md', '/console/sub/../app.js',
    '/console/sub/%2E%2E/app.js', '/console/..%2fREADME.md', '/console/.secret.js', '/console/notes.txt',
    '/console/missing.js', '/console/sub', '/console/app.js%00.css', '/console/sub/',
    '/console/sub\\..\\app.js']) {
    const r = await raw(path);
    assert.equal(r.status, 404, path);
    assert.doesNotMatch(r.body, /hidden|export const|README|body\{/, path);
  }
});

test('only GET and HEAD', async () => {
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const r = await get('/console/app.js', { method, body: method === 'DELETE' ? undefined : 'x' });
    assert.equal(r.status, 405, method);
    assert.equal(r.headers.get('allow'), 'GET, HEAD');
  }
});

test('an empty server.web_dir serves no console', async () => {
  const other = await startServer({ args: ['--web-dir', ''] });
  try {
    const r = await fetch(`http://127.0.0.1:${other.port}/console/`, { headers: { Authorization: '' } });
    assert.equal(r.status, 404);
  } finally {
    await other.stop();
    other.cleanup();
  }
});
