// mllp.mjs MESSAGES CONNECTIONS - HL7 v2 ingest over MLLP: starts a server on a fresh
// store, registers one laboratory, then sends MESSAGES ORU^R01 (a patient, one order,
// five results each) over CONNECTIONS connections, each waiting for its acknowledgement
// (sent only once the message is durable), and prints the rate.
import { spawn, execFileSync } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [messages = '20000', connections = '16'] = process.argv.slice(2);
const BIN = process.env.YUJIAN_BIN || 'build/yujian';
const dir = mkdtempSync(join(tmpdir(), 'yujian-mllp-bench-'));
execFileSync(BIN, ['user', 'add', 'bench', 'platform-admin', '--data', dir], { input: 'bench-local-password\n' });
const srv = spawn(BIN, ['serve', '--data', dir, '--port', '0', '--mllp-port', '0', '--log-level', 'warn',
  '--rate-per-address', '0', '--rate-per-user', '0', '--max-connections-per-address', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
const ports = await new Promise((resolve) => srv.stdout.on('data', (d) => {
  out += d;
  const h = out.match(/serving http:\/\/[^:]+:(\d+)/), m = out.match(/MLLP\) on [^:]+:(\d+)/);
  if (h && m) resolve({ http: Number(h[1]), mllp: Number(m[1]) });
}));
const base = `http://127.0.0.1:${ports.http}`;
const token = (await (await fetch(`${base}/auth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'password', username: 'bench', password: 'bench-local-password' }) })).json()).access_token;
await fetch(`${base}/fhir/Organization/lab1`, { method: 'PUT', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/fhir+json' },
  body: JSON.stringify({ resourceType: 'Organization', id: 'lab1', identifier: [{ system: 'https://fhir.yujian.org.cn/sid/hl7-facility', value: 'LAB1' }] }) });

const ITEMS = [['2345-7', '葡萄糖', 'mmol/L'], ['718-7', '血红蛋白', 'g/L'], ['6690-2', '白细胞计数', '10*9/L'], ['2160-0', '肌酐', 'umol/L'], ['1742-6', 'ALT', 'U/L']];
function oru(n) {
  const rid = `41${String(n % 50000).padStart(10, '0')}${String((n * 7919) % 1000000).padStart(6, '0')}`;
  return [
    `MSH|^~\\&|LIS|LAB1|YUJIAN|PLATFORM|20241105083000+0800||ORU^R01^ORU_R01|B${n}|P|2.5.1|||||CHN|UNICODE UTF-8`,
    `PID|1||${rid}^^^CHN^NNCHN||王^伟||19800101|M`,
    `OBR|1|P${n}|F${n}|24323-8^生化常规^LN|||20241105080000|||||||||||||||20241105090000|||F`,
    ...ITEMS.map(([code, text, unit], i) => `OBX|${i + 1}|NM|${code}^${text}^LN||${(4 + (n % 30) / 10).toFixed(1)}|${unit}^${unit}^UCUM|1-10|N|||F|||20241105080000`),
  ].join('\r') + '\r';
}

function worker(first, count) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(ports.mllp, '127.0.0.1');
    let buf = '', sent = 0, acked = 0, bad = 0;
    const next = () => { if (sent < count) sock.write('\x0b' + oru(first + sent++) + '\x1c\r'); else sock.end(); };
    sock.on('connect', next);
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      let end;
      while ((end = buf.indexOf('\x1c\r')) >= 0) {
        if (!buf.slice(0, end).includes('MSA|AA|')) bad++;
        buf = buf.slice(end + 2);
        acked++;
        next();
      }
    });
    // closed before every message was acknowledged: the server refused the connection
    // (more than hl7.max_connections, 64 by default) or went away; say so instead of waiting
    sock.on('close', () => (acked < count ? reject(new Error(`connection ${first}: closed after ${acked} of ${count} acknowledgements (hl7.max_connections is 64 unless configured)`)) : resolve({ acked, bad })));
    sock.on('error', (e) => reject(new Error(`connection ${first}: ${e.code || e.message} after ${acked} of ${count} acknowledgements (hl7.max_connections is 64 unless configured)`)));
  });
}

const total = Number(messages), conns = Number(connections), per = Math.ceil(total / conns);
const t0 = process.hrtime.bigint();
const results = await Promise.all(Array.from({ length: conns }, (_, i) => worker(1 + i * per, Math.min(per, total - i * per))))
  .catch((e) => {
    console.error(`MLLP: ${e.message}`);
    srv.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  });
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const acked = results.reduce((s, r) => s + r.acked, 0), bad = results.reduce((s, r) => s + r.bad, 0);
console.log(`MLLP: ${acked} ORU^R01 acknowledged (${bad} not AA) in ${seconds.toFixed(1)} s: ${Math.round(acked / seconds)} messages/s, ` +
  `${Math.round(acked * 6 / seconds)} resources/s (${conns} connections, 1 order + 5 results each)`);
srv.kill('SIGTERM');
await new Promise((r) => srv.on('exit', r));
rmSync(dir, { recursive: true, force: true });
