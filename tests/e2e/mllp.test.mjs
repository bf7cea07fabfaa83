// HL7 v2 from laboratory systems over a real MLLP socket: ORU^R01 mapped to FHIR and acknowledged
// only once durable; malformed messages answered AE/AR with the reason and kept as dead letters
// (re-processable); broken framing, partial messages, disconnects, other encodings, size limits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, http, tempDir } from './helpers.mjs';

const FACILITY = 'https://fhir.yujian.org.cn/sid/hl7-facility';
const RESIDENT = 'https://fhir.yujian.org.cn/sid/cn-resident-id';
const DEAD = 'https://fhir.yujian.org.cn/CodeSystem/hl7v2|dead-letter';
const EXT = 'https://fhir.yujian.org.cn/StructureDefinition/hl7v2-';
const VT = '\x0b';
const END = '\x1c\r';

let srv, port;
const mllpPort = (s) => Number(s.stdout().match(/MLLP\) on [^:]+:(\d+)/)[1]);

before(async () => {
  srv = await startServer({ args: ['--mllp-port', '0', '--mllp-max-message-kb', '64'] });
  port = mllpPort(srv);
  const org = { resourceType: 'Organization', id: 'lab1', name: '郑州某医院检验科', identifier: [{ system: FACILITY, value: 'LAB1' }] };
  assert.equal((await http('PUT', `${srv.base}/Organization/lab1`, { body: org })).status, 201);
});
after(async () => { await srv.stop(); srv.cleanup(); });

const ts = (ms) => new Date(ms + 8 * 3600000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
function oru({ id = 'M1', version = '2.5.1', type = 'ORU^R01^ORU_R01', facility = 'LAB1', filler = 'F1', value = '5.6', valueType = 'NM', status = 'F', charset = 'UNICODE UTF-8', name = '张^三', extra = '' } = {}) {
  const now = ts(Date.now() - 3600000);
  return [
    `MSH|^~\\&|LIS|${facility}|YUJIAN|PLATFORM|${now}+0800||${type}|${id}|P|${version}|||||CHN|${charset}`,
    `PID|1||410105199001011234^^^CHN^NNCHN~MRN7^^^LAB1^MR||${name}||19900101|M`,
    `OBR|1|P-${filler}|${filler}|24323-8^生化常规^LN|||${now}|||||||||||||||${now}|||${status}`,
    `OBX|1|${valueType}|2345-7^葡萄糖^LN||${value}|mmol/L^mmol/L^UCUM|3.9-6.1|H|||${status}|||${now}`,
    'OBX|2|ST|X1^备注^L||溶血\\T\\轻度||||||F',
    'NTE|1||a comment that is not mapped',
    extra,
  ].filter(Boolean).join('\r') + '\r';
}

// Send raw chunks (strings or Buffers) on one connection; collect n acknowledgements.
function exchange(chunks, n, { gapMs = 0, closeAfter = true } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const acks = [];
    const timer = setTimeout(() => { sock.destroy(); resolve(acks); }, 8000);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      let end;
      while ((end = buf.indexOf('\x1c\r')) >= 0) {
        const start = buf.indexOf(0x0b);
        acks.push(parseAck(buf.subarray(start + 1, end).toString('utf8')));
        buf = buf.subarray(end + 2);
      }
      if (acks.length >= n) { clearTimeout(timer); if (closeAfter) sock.end(); resolve(acks); }
    });
    sock.on('error', reject);
    sock.on('connect', async () => {
      for (const c of chunks) {
        sock.write(c);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
      if (n === 0) setTimeout(() => { clearTimeout(timer); sock.end(); resolve(acks); }, 300);
    });
  });
}
const frame = (msg) => VT + msg + END;
const send = async (msg) => (await exchange([frame(msg)], 1))[0];

function parseAck(text) {
  const segs = Object.fromEntries(text.split('\r').filter(Boolean).map((s) => [s.slice(0, 3), s.split('|')]));
  return { code: segs.MSA?.[1], control: segs.MSA?.[2], text: segs.MSA?.[3] || '', err: segs.ERR?.[3] || '', raw: text };
}

const get = async (path) => (await http('GET', `${srv.base}/${path}`)).json;
const deadLetters = async () => ((await get(`Basic?code=${encodeURIComponent(DEAD)}&_count=100`)).entry || []).map((e) => e.resource);
const ext = (res, name) => res.extension.find((e) => e.url === EXT + name);

test('an ORU^R01 is stored as FHIR, then acknowledged AA', async () => {
  const ack = await send(oru({ id: 'A1', filler: 'F-A1' }));
  assert.equal(ack.code, 'AA', ack.raw);
  assert.equal(ack.control, 'A1');
  assert.match(ack.raw, /^MSH\|\^~\\&\|YUJIAN\|YUJIAN\|LIS\|LAB1\|\d{14}\+0800\|\|ACK\^R01\^ACK\|/);
  const pats = (await get(`Patient?identifier=${RESIDENT}|410105199001011234`)).entry;
  assert.equal(pats.length, 1);
  const p = pats[0].resource;
  assert.equal(p.name[0].text, '张三');
  assert.equal(p.gender, 'male');
  assert.equal(p.birthDate, '1990-01-01');
  assert.equal(p.meta.tag[0].code, 'Organization/lab1', 'held by the sending laboratory');
  const reports = (await get(`DiagnosticReport?subject=Patient/${p.id}&_count=50`)).entry.map((e) => e.resource);
  const dr = reports.find((r) => r.code.coding[0].code === '24323-8');
  assert.equal(dr.status, 'final');
  assert.equal(dr.performer[0].reference, 'Organization/lab1');
  assert.equal(dr.result.length, 2);
  const glu = await get(dr.result[0].reference);
  assert.equal(glu.code.coding[0].system, 'http://loinc.org');
  assert.deepEqual(glu.valueQuantity, { value: 5.6, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' });
  assert.deepEqual(glu.referenceRange[0].low, { value: 3.9, unit: 'mmol/L' });
  assert.equal(glu.interpretation[0].coding[0].code, 'H');
  assert.match(glu.effectiveDateTime, /\+08:00$/);
  const note = await get(dr.result[1].reference);
  assert.equal(note.valueString, '溶血&轻度', 'escape sequences decoded');
  assert.equal(note.code.coding[0].system, 'https://fhir.yujian.org.cn/CodeSystem/local/lab1', 'local codes stay local');
  // the audit trail names the sending facility
  const trail = (await get(`AuditEvent?_count=1000`)).entry.map((e) => e.resource);
  assert.ok(trail.some((e) => e.subtype[0].code === 'hl7v2-oru' && e.agent[0].who.identifier.value === 'hl7:LAB1'));
});

test('the specimen (SPM) is stored as a Specimen the report and its results point at', async () => {
  const spm = 'SPM|1|S-77^ACC-77||SER^血清^HL70487||||LA^左臂^HL70163|||||||||20241105073000|20241105081500';
  const ack = await send(oru({ id: 'S1', filler: 'F-S1', extra: spm }));
  assert.equal(ack.code, 'AA', ack.raw);
  const specimens = (await get(`Specimen?accession=https://fhir.yujian.org.cn/sid/specimen/lab1|ACC-77`)).entry.map((e) => e.resource);
  assert.equal(specimens.length, 1);
  const sp = specimens[0];
  assert.deepEqual(sp.type.coding[0], { system: 'http://terminology.hl7.org/CodeSystem/v2-0487', code: 'SER', display: '血清' });
  assert.equal(sp.collection.collectedDateTime, '2024-11-05T07:30:00+08:00');
  assert.equal(sp.receivedTime, '2024-11-05T08:15:00+08:00');
  assert.equal(sp.meta.tag[0].code, 'Organization/lab1');
  const dr = (await get(`DiagnosticReport?specimen=Specimen/${sp.id}`)).entry.map((e) => e.resource);
  assert.equal(dr.length, 1);
  assert.equal(dr[0].specimen[0].reference, `Specimen/${sp.id}`);
  for (const r of dr[0].result) assert.equal((await get(r.reference)).specimen.reference, `Specimen/${sp.id}`);
  assert.equal(sp.subject.reference, dr[0].subject.reference);
});

test('versions 2.3 to 2.5.1 are taken; other versions and messages are refused AR and kept', async () => {
  for (const v of ['2.3', '2.3.1', '2.4', '2.5']) assert.equal((await send(oru({ id: `V${v}`, version: v, filler: `F-V${v}` }))).code, 'AA', v);
  const before = (await deadLetters()).length;
  const cases = [
    [{ id: 'R1', version: '2.6' }, '203', /version '2.6'/],
    [{ id: 'R2', type: 'ADT^A01^ADT_A01' }, '200', /message type 'ADT'/],
    [{ id: 'R3', type: 'ORU^R30' }, '201', /event 'R30'/],
  ];
  const sent = {};
  for (const [opts, code, why] of cases) {
    sent[opts.id] = oru(opts);
    const ack = await send(sent[opts.id]);
    assert.equal(ack.code, 'AR', ack.raw);
    assert.equal(ack.control, opts.id);
    assert.match(ack.err, new RegExp(`^${code}\\^`));
    assert.match(ack.text, why);
  }
  const garbage = await send('this is not HL7');
  assert.equal(garbage.code, 'AR');
  assert.match(garbage.text, /MSH/);
  assert.equal((await send('')).code, 'AR', 'an empty frame is answered too');
  const letters = await deadLetters();
  assert.equal(letters.length, before + 5, 'every refused message is kept');
  for (const l of letters) assert.equal((await http('PUT', `${srv.base}/Basic/${l.id}`, { body: l })).status, 200, 'a dead letter is valid FHIR');
  const kept = letters.find((l) => ext(l, 'control-id')?.valueString === 'R1');
  assert.equal(ext(kept, 'ack').valueCode, 'AR');
  assert.equal(Buffer.from(ext(kept, 'message').valueBase64Binary, 'base64').toString(), sent.R1, 'kept byte for byte');
});

test('an application error is AE with the reason, stores none of the message, and keeps it', async () => {
  const ack = await send(oru({ id: 'E1', filler: 'F-E1', value: '5,6' }));
  assert.equal(ack.code, 'AE', ack.raw);
  assert.match(ack.text, /OBX-5 '5,6' is not a number/);
  const drs = (await get(`DiagnosticReport?_count=100`)).entry.map((e) => e.resource);
  assert.ok(!drs.some((r) => JSON.stringify(r).includes('F-E1')), 'nothing of it is stored');
  assert.ok((await deadLetters()).some((l) => ext(l, 'control-id')?.valueString === 'E1'));
  const noPid = await send(oru({ id: 'E2' }).replace(/PID\|[^\r]*\r/, ''));
  assert.equal(noPid.code, 'AE');
  assert.match(noPid.text, /PID-3/);
});

test('a message from an unknown facility is kept, and re-processed once the facility is registered', async () => {
  const ack = await send(oru({ id: 'U1', facility: 'LAB2', filler: 'F-U1' }));
  assert.equal(ack.code, 'AE');
  assert.match(ack.text, /sending facility 'LAB2' is not registered/);
  const letter = (await deadLetters()).find((l) => ext(l, 'control-id')?.valueString === 'U1');
  assert.equal(ext(letter, 'status').valueCode, 'open');
  // still unknown: re-processing says so again
  let r = await http('POST', `${srv.base}/Basic/${letter.id}/$reprocess`);
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.parameter[0].valueCode, 'AE');
  await http('PUT', `${srv.base}/Organization/lab2`, { body: { resourceType: 'Organization', id: 'lab2', identifier: [{ system: FACILITY, value: 'LAB2' }] } });
  r = await http('POST', `${srv.base}/Basic/${letter.id}/$reprocess`);
  assert.equal(r.json.parameter[0].valueCode, 'AA', r.body);
  assert.equal(ext(await get(`Basic/${letter.id}`), 'status').valueCode, 'done');
  const drs = (await get('DiagnosticReport?performer=Organization/lab2')).entry;
  assert.equal(drs.length, 1);
  assert.equal((await http('POST', `${srv.base}/Basic/nope/$reprocess`)).status, 404);
});

test('a corrected report updates the same resources; the history keeps the first', async () => {
  assert.equal((await send(oru({ id: 'C1', filler: 'F-C', value: '7.0' }))).code, 'AA');
  assert.equal((await send(oru({ id: 'C2', filler: 'F-C', value: '6.1', status: 'C' }))).code, 'AA');
  const dr = (await get('DiagnosticReport?_count=100')).entry.map((e) => e.resource).find((r) => r.identifier === undefined && JSON.stringify(r).length && r.status === 'corrected');
  assert.ok(dr, 'the report is corrected');
  const glu = await get(dr.result[0].reference);
  assert.equal(glu.status, 'corrected');
  assert.equal(glu.valueQuantity.value, 6.1);
  assert.equal(glu.meta.versionId, '2');
  const first = await get(`${dr.result[0].reference}/_history/1`);
  assert.equal(first.valueQuantity.value, 7);
});

test('GB 18030 is decoded when declared; undeclared non-UTF-8 is refused and kept', async () => {
  const { execFileSync } = await import('node:child_process');
  const utf8 = oru({ id: 'G1', filler: 'F-G1', charset: 'GB 18030-2000', name: '李^四' });
  const gb = execFileSync('iconv', ['-f', 'UTF-8', '-t', 'GB18030'], { input: utf8 });
  const ack = (await exchange([Buffer.concat([Buffer.from(VT), gb, Buffer.from(END)])], 1))[0];
  assert.equal(ack.code, 'AA', ack.raw);
  const drs = (await get('DiagnosticReport?_count=100')).entry.map((e) => e.resource);
  assert.ok(drs.some((r) => r.code.text === '生化常规'));
  const wrong = Buffer.from(gb.toString('latin1').replace('GB 18030-2000', 'UNICODE UTF-8'), 'latin1');
  const bad = (await exchange([Buffer.concat([Buffer.from(VT), wrong, Buffer.from(END)])], 1))[0];
  assert.equal(bad.code, 'AR');
  assert.match(bad.text, /not valid UTF-8/);
  const unknown = await send(oru({ id: 'G3', charset: 'KLINGON' }));
  assert.equal(unknown.code, 'AR');
  assert.match(unknown.text, /character set 'KLINGON'/);
});

test('framing: noise, coalesced and split frames, broken-off frames, disconnects mid-message', async () => {
  // noise before a frame is skipped; two frames in one write get two answers, in order
  let acks = await exchange(['garbage\r\n' + frame(oru({ id: 'F1', filler: 'F-F1' })) + frame(oru({ id: 'F2', filler: 'F-F2' }))], 2);
  assert.deepEqual(acks.map((a) => [a.code, a.control]), [['AA', 'F1'], ['AA', 'F2']]);
  // a frame sent a few bytes at a time
  const bytes = frame(oru({ id: 'F3', filler: 'F-F3' }));
  const pieces = [];
  for (let i = 0; i < bytes.length; i += 7) pieces.push(bytes.slice(i, i + 7));
  acks = await exchange(pieces, 1, { gapMs: 1 });
  assert.equal(acks[0].code, 'AA');
  // a frame broken off by a new one: only the second is answered
  acks = await exchange([VT + oru({ id: 'F4', filler: 'F-F4' }).slice(0, 60) + frame(oru({ id: 'F5', filler: 'F-F5' }))], 1);
  assert.deepEqual(acks.map((a) => a.control), ['F5']);
  // a frame cut by a disconnect is neither stored nor answered
  const letters = (await deadLetters()).length;
  await exchange([VT + oru({ id: 'F6', filler: 'F-F6' })], 0);
  const drs = (await get('DiagnosticReport?_count=200')).entry.map((e) => e.resource);
  assert.ok(!drs.some((r) => JSON.stringify(r).includes('F-F4') || JSON.stringify(r).includes('F-F6')));
  assert.equal((await deadLetters()).length, letters);
  // a frame over the limit (64 KiB here) is read to its end, refused and its head kept; the
  // connection still works
  const big = oru({ id: 'BIG', filler: 'F-BIG', extra: 'NTE|1||' + 'x'.repeat(70000) });
  acks = await exchange([frame(big) + frame(oru({ id: 'F7', filler: 'F-F7' }))], 2);
  assert.equal(acks[0].code, 'AR');
  assert.equal(acks[0].control, 'BIG');
  assert.match(acks[0].text, /larger than hl7.max_message_kb/);
  assert.equal(acks[1].code, 'AA');
});

test('an acknowledged message survives kill -9', async () => {
  const dir = tempDir();
  const s = await startServer({ dir, args: ['--mllp-port', '0'] });
  await http('PUT', `${s.base}/Organization/lab1`, { body: { resourceType: 'Organization', id: 'lab1', identifier: [{ system: FACILITY, value: 'LAB1' }] } });
  const saved = port;
  port = mllpPort(s);
  try {
    const acks = await exchange(Array.from({ length: 20 }, (_, i) => frame(oru({ id: `K${i}`, filler: `F-K${i}` }))), 20);
    assert.equal(acks.filter((a) => a.code === 'AA').length, 20);
    await s.kill9();
    const again = await startServer({ dir });
    try {
      const n = (await http('GET', `${again.base}/DiagnosticReport?_summary=count`)).json.total;
      assert.equal(n, 20);
    } finally { await again.stop(); }
  } finally { port = saved; s.cleanup(); }
});

test('an idle connection is closed', async () => {
  const s = await startServer({ args: ['--mllp-port', '0', '--mllp-idle-timeout', '1'] });
  try {
    const closed = await new Promise((resolve) => {
      const sock = net.connect(mllpPort(s), '127.0.0.1');
      const t0 = Date.now();
      sock.on('close', () => resolve(Date.now() - t0));
      sock.on('error', () => {});
    });
    assert.ok(closed >= 900 && closed < 5000, `closed after ${closed} ms`);
  } finally { await s.stop(); s.cleanup(); }
});
