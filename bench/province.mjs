// province.mjs - the province-like data set of issue #3, loaded the way a
// hospital system would send it: one transaction Bundle per patient visit
// history, over HTTP, from CONNECTIONS concurrent clients.
//
//   TOKEN=<bearer token> node bench/province.mjs BASE_URL PATIENTS [CONNECTIONS]   (BASE_URL ends in /fhir)
// (an account that may write everything; see bench/auth.sh for making one)
//
// Per patient: 1 Patient (resident id, Chinese name, address), 3 Encounters,
// 20 lab Observations (10 LOINC codes, 2 each, over 2023-2024), 4
// DiagnosticReports (5 results each): 28 resources, all search parameters
// indexed by the server. Deterministic: patient N always has the same data,
// so benchmarks can pick identifiers and patients at random. Prints the
// ingest rate as resources per second of sending (bundles are serialised
// ahead, a chunk at a time, outside the measured time).
import http from 'node:http';

const [base, patientsArg, connArg] = process.argv.slice(2);
if (!base || !patientsArg) {
  console.error('usage: node bench/province.mjs BASE_URL PATIENTS [CONNECTIONS]');
  process.exit(2);
}
const PATIENTS = Number(patientsArg);
const CONNECTIONS = Number(connArg || 16);
const FIRST = Number(process.env.FIRST || 1);

const LABS = [
  ['2345-7', '葡萄糖', 'mmol/L', 3.9, 6.1], ['718-7', '血红蛋白', 'g/L', 115, 150],
  ['6690-2', '白细胞计数', '10*9/L', 3.5, 9.5], ['777-3', '血小板计数', '10*9/L', 125, 350],
  ['2160-0', '肌酐', 'umol/L', 57, 111], ['1742-6', '丙氨酸氨基转移酶', 'U/L', 9, 50],
  ['2093-3', '总胆固醇', 'mmol/L', 2.8, 5.2], ['2571-8', '甘油三酯', 'mmol/L', 0.56, 1.7],
  ['4548-4', '糖化血红蛋白', '%', 4, 6], ['3016-3', '促甲状腺激素', 'mIU/L', 0.27, 4.2],
];
const ORGS = ['org-zzu1', 'org-hnph', 'org-zkszxyy', 'org-lyzxyy', 'org-xxzxyy'];
const FAMILY = ['王', '李', '张', '刘', '陈', '杨', '赵', '黄', '周', '吴'];
const GIVEN = ['伟', '芳', '娜', '敏', '静', '磊', '洋', '勇', '艳', '杰'];
const CITIES = ['410100', '410200', '410300', '410700', '411600'];

// Resident id of patient n: a fixed 18-character string per n (not a real person).
export function residentId(n) {
  return `41${String(n).padStart(10, '0')}${String((n * 7919) % 1000000).padStart(6, '0')}`;
}

const uuid = (n, k) => `urn:uuid:${String(n).padStart(8, '0')}-0000-4000-8000-${String(k).padStart(12, '0')}`;
const day = (n, k) => {
  const d = new Date(Date.UTC(2023, 0, 1) + ((n * 37 + k * 11) % 700) * 86400000);
  return d.toISOString().slice(0, 10);
};

function patientBundle(n) {
  const org = ORGS[n % ORGS.length];
  const entry = [];
  const post = (k, resource) => entry.push({ fullUrl: uuid(n, k), resource, request: { method: 'POST', url: resource.resourceType } });
  post(0, {
    resourceType: 'Patient', identifier: [{ system: 'https://fhir.yujian.org.cn/sid/cn-resident-id', value: residentId(n) }],
    name: [{ text: FAMILY[n % 10] + GIVEN[(n >> 3) % 10], family: FAMILY[n % 10], given: [GIVEN[(n >> 3) % 10]] }],
    gender: n % 2 ? 'male' : 'female', birthDate: `${1940 + (n % 70)}-${String(1 + (n % 12)).padStart(2, '0')}-15`,
    address: [{ state: '河南省', district: CITIES[n % CITIES.length] }], telecom: [{ system: 'phone', value: `1380000${String(n % 10000).padStart(4, '0')}` }],
    managingOrganization: { reference: `Organization/${org}` },
  });
  for (let e = 0; e < 3; e++) {
    post(1 + e, {
      resourceType: 'Encounter', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: e === 2 ? 'IMP' : 'AMB' },
      subject: { reference: uuid(n, 0) }, period: { start: `${day(n, e)}T08:00:00+08:00`, end: `${day(n, e)}T11:00:00+08:00` },
      serviceProvider: { reference: `Organization/${org}` },
    });
  }
  for (let o = 0; o < 20; o++) {
    const [code, text, unit, lo, hi] = LABS[o % LABS.length];
    const enc = o % 3;
    post(10 + o, {
      resourceType: 'Observation', status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
      code: { coding: [{ system: 'http://loinc.org', code }], text },
      subject: { reference: uuid(n, 0) }, encounter: { reference: uuid(n, 1 + enc) },
      effectiveDateTime: `${day(n, enc)}T09:${String(o).padStart(2, '0')}:00+08:00`,
      performer: [{ reference: `Organization/${org}` }],
      valueQuantity: { value: Math.round((lo + ((n + o) % 10) / 9 * (hi - lo)) * 100) / 100, unit, system: 'http://unitsofmeasure.org', code: unit },
      referenceRange: [{ low: { value: lo, unit }, high: { value: hi, unit } }],
    });
  }
  for (let r = 0; r < 4; r++) {
    post(40 + r, {
      resourceType: 'DiagnosticReport', status: 'final', code: { text: '检验报告' },
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'LAB' }] }],
      subject: { reference: uuid(n, 0) }, encounter: { reference: uuid(n, 1 + (r % 3)) },
      effectiveDateTime: `${day(n, r % 3)}T09:00:00+08:00`, issued: `${day(n, r % 3)}T12:00:00+08:00`,
      performer: [{ reference: `Organization/${org}` }],
      result: Array.from({ length: 5 }, (_, k) => ({ reference: uuid(n, 10 + r * 5 + k) })),
    });
  }
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

// node:http with keep-alive rather than fetch: undici's fetch cost the client a third of a core at
// 4,500 resources/s on the 2-vCPU benchmark machine, CPU the server on the same machine then lacked.
const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
const url = new URL(base);

function post(body) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST',
      headers: {
        'Content-Type': 'application/fhir+json', Prefer: 'return=minimal',
        Authorization: `Bearer ${process.env.TOKEN || ''}`, 'Content-Length': Buffer.byteLength(body),
      },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function worker(bodies, state, stats) {
  for (let i = state.next++; i < bodies.length; i = state.next++) {
    const res = await post(bodies[i]);
    if (res.status !== 200 || !res.text.includes('"transaction-response"'))
      throw new Error(`bundle ${i}: ${res.status} ${res.text.slice(0, 300)}`);
    stats.resources += 28;
  }
}

// Bundles are made ahead, CHUNK at a time, so the clock measures the server, not the generator.
const CHUNK = 2000;

if (import.meta.url === `file://${process.argv[1]}`) {
  const stats = { resources: 0 };
  let sending = 0;
  for (let first = FIRST; first < FIRST + PATIENTS; first += CHUNK) {
    const last = Math.min(first + CHUNK, FIRST + PATIENTS);
    const bodies = [];
    for (let n = first; n < last; n++) bodies.push(JSON.stringify(patientBundle(n)));
    const state = { next: 0 };
    const start = Date.now();
    await Promise.all(Array.from({ length: CONNECTIONS }, () => worker(bodies, state, stats)));
    sending += (Date.now() - start) / 1000;
    process.stderr.write(`\r${stats.resources} resources, ${Math.round(stats.resources / sending)}/s   `);
  }
  console.log(`\ningested ${PATIENTS} patients, ${stats.resources} resources in ${sending.toFixed(1)} s of sending: ` +
    `${Math.round(stats.resources / sending)} resources/s (${CONNECTIONS} connections, transaction Bundles of 28)`);
  agent.destroy();
}
