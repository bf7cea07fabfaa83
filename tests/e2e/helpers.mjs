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

export function tempDir() {
  return mkdtempSync(join(tmpdir(), 'yujian-e2e-'));
}

// Run the CLI to completion; returns { status, stdout, stderr }.
export function cli(args, opts = {}) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', timeout: 120000, ...opts });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Start `yujian serve`; resolves once it prints its address.
export async function startServer({ dir = tempDir(), args = [], env = {} } = {}) {
  const proc = spawn(BIN, ['serve', '--port', '0', '--data', dir, '--access-log', '0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('server did not start: ' + stderr)), 20000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/serving http:\/\/[^:]+:(\d+)\/fhir/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${stderr}`)); });
  });
  const base = `http://127.0.0.1:${port}/fhir`;
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    dir, port, base, proc,
    stderr: () => stderr,
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
