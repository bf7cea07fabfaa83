// helpers.mjs - start the real yujian binary on a random port with a fresh
// data directory, and small HTTP helpers for the end-to-end tests.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = process.env.YUJIAN_BIN || join(ROOT, 'build', 'yujian');
export const SANITIZED = !!process.env.YUJIAN_SANITIZED;

// Every directory made here is removed when the test file's process exits, whatever its tests
// did (a run used to leave some twenty behind, on a disk that may be small).
const made = [];
process.on('exit', () => { for (const d of made) rmSync(d, { recursive: true, force: true }); });

export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'yujian-e2e-'));
  made.push(dir);
  return dir;
}

// Run the CLI to completion; returns { status, stdout, stderr }.
export function cli(args, opts = {}) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', timeout: 120000, ...opts });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Every server a test starts has this platform administrator (made with the
// CLI before the server starts), and every request a test sends to it carries
// the administrator's bearer token unless the test sets Authorization itself:
// authentication is always on, and the tests of other behaviour speak as an
// account that may do everything. tests/e2e/auth.test.mjs tests the gate.
export const ADMIN = { user: 'e2e-admin', password: 'e2e-admin-password' };
const tokens = new Map(); // origin -> bearer token

const plainFetch = globalThis.fetch;
globalThis.fetch = (url, init = {}) => {
  const token = tokens.get(new URL(String(url)).origin);
  const headers = new Headers(init.headers || {});
  if (token && !headers.has('Authorization')) headers.set('Authorization', `Bearer ${token}`);
  if (headers.get('Authorization') === '') headers.delete('Authorization');
  return plainFetch(url, { ...init, headers });
};

// Create an account (password on stdin); ignores "exists already".
export function addUser(dir, name, role, password, extra = []) {
  return cli(['user', 'add', name, role, ...extra, '--data', dir], { input: password + '\n' });
}

// A bearer token for name/password at origin; throws when refused.
export async function login(origin, name, password, scope) {
  const form = new URLSearchParams({ grant_type: 'password', username: name, password });
  if (scope) form.set('scope', scope);
  const r = await plainFetch(`${origin}/auth/token`, { method: 'POST', body: form });
  const json = await r.json();
  if (r.status !== 200) throw new Error(`login of ${name} refused: ${JSON.stringify(json)}`);
  return json;
}

// Start `yujian serve`; resolves once it prints its address. firstRun: no administrator is made
// beforehand (the server makes 'admin' with a one-time password, in stdout()) and requests carry no
// token.
export async function startServer({ dir = tempDir(), args = [], env = {}, firstRun = false } = {}) {
  if (!firstRun) addUser(dir, ADMIN.user, 'platform-admin', ADMIN.password);
  const proc = spawn(BIN, ['serve', '--port', '0', '--data', dir, '--access-log', '0', '--access-ttl', '86400',
    // the suites send bursts from one address; limits.test.mjs sets the limits it tests
    '--rate-per-address', '0', '--rate-per-user', '0', '--max-connections-per-address', '0',
    // no sweep of lapsed pre-admissions behind the tests' backs; admission.test.mjs turns it on
    '--inpatient-sweep', '0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let out = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start: ' + stderr)), 20000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/serving http:\/\/[^:]+:(\d+)\/fhir/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${stderr}`)); });
  });
  const base = `http://127.0.0.1:${port}/fhir`;
  if (!firstRun)
    tokens.set(`http://127.0.0.1:${port}`, (await login(`http://127.0.0.1:${port}`, ADMIN.user, ADMIN.password)).access_token);
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    dir, port, base, proc,
    stderr: () => stderr,
    stdout: () => out,
    // Graceful stop; a sanitizer report or a non-zero exit fails the calling test.
    async stop() {
      proc.kill('SIGTERM');
      const r = await exited;
      if (/Sanitizer|runtime error:/.test(stderr)) throw new Error('sanitizer report:\n' + stderr);
      if (r.code !== 0) throw new Error(`server exited with ${r.code} ${r.signal}:\n${stderr}`);
      return r;
    },
    async kill9() {
      proc.kill('SIGKILL');
      return exited;
    },
    cleanup() { rmSync(dir, { recursive: true, force: true }); },
  };
}

// fetch with FHIR JSON defaults; returns { status, headers, body, json }.
export async function http(method, url, { body, headers = {} } = {}) {
  const h = { ...headers };
  let payload = body;
  if (body !== undefined && typeof body !== 'string') payload = JSON.stringify(body);
  if (payload !== undefined && !('Content-Type' in h)) h['Content-Type'] = 'application/fhir+json';
  const res = await fetch(url, { method, headers: h, body: payload });
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: res.status, headers: res.headers, body: text, json };
}

// The diagnostics of an OperationOutcome, joined, for assertion messages.
export function diagnostics(json) {
  return (json?.issue || []).map((i) => `${(i.expression || []).join(',')}: ${i.diagnostics}`).join('\n');
}

// A server whose accounts are users ([name, role, extra CLI arguments], password "<name>-password"),
// each signed in: { srv, tok } with tok[name] the account's access token.
export async function startWithUsers(users, options = {}) {
  const dir = options.dir || tempDir();
  for (const [name, role, extra] of users) addUser(dir, name, role, `${name}-password`, extra);
  const srv = await startServer({ ...options, dir });
  const origin = srv.base.replace(/\/fhir$/, '');
  const tok = {};
  for (const [name] of users) tok[name] = (await login(origin, name, `${name}-password`)).access_token;
  return { srv, tok };
}

// PUT body to its own URL on srv with headers; it must be stored (200 or 201). Its JSON.
export async function putAs(srv, headers, body) {
  const r = await http('PUT', `${srv.base}/${body.resourceType}/${body.id}`, { headers, body });
  if (r.status !== 200 && r.status !== 201) throw new Error(`${body.resourceType}/${body.id}: ${r.status} ${r.body}`);
  return r.json;
}
