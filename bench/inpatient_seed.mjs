// inpatient_seed.mjs URL TOKEN - the bed-pool benchmarks' data (bench/inpatient_run), written
// through the FHIR API in transaction bundles. PUTs with fixed ids: safe to run again.
//
//   org-bench-a  a 5,000-bed hospital for $find-bed: 2 buildings x 10 floors x 5 wards of
//                50 beds (10 rooms of 5), 50 departments of two wards each on neighbouring floors,
//                10 specialty groups; 30 % of the beds occupied; 1,000 planned encounters
//                (fb-0 .. fb-999) of its departments, patients of both sexes and all ages.
//   org-bench-b  beds for $assign-bed (wards of 50, ten wards a department): ASSIGN_BEDS beds
//                ab-bed-I, each with its encounter ab-I, for clients that do not collide; and
//                ASSIGN_BEDS beds ar-bed-I wanted by two encounters each, ar-0-I and ar-1-I, for
//                two clients racing (bench/assign_bed.lua).
const [url, token] = process.argv.slice(2);
const ASSIGN_BEDS = Number(process.env.ASSIGN_BEDS || 40000);
const EXT = 'https://fhir.yujian.org.cn/StructureDefinition/';
const PHYS = 'http://terminology.hl7.org/CodeSystem/location-physical-type';
const STATUS = 'https://fhir.yujian.org.cn/CodeSystem/bed-status';
const CUSTODIAN = 'https://fhir.yujian.org.cn/CodeSystem/custodian';

let pending = [];
let written = 0;
async function flush() {
  if (!pending.length) return;
  const body = { resourceType: 'Bundle', type: 'batch', entry: pending.map((r) => ({ resource: r, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } })) };
  pending = [];
  const res = await fetch(`${url}/fhir`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/fhir+json', Prefer: 'return=minimal' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`bundle: ${res.status} ${text.slice(0, 300)}`);
  const bad = JSON.parse(text).entry.find((e) => !/^20[01]/.test(e.response.status));
  if (bad) throw new Error(`entry: ${JSON.stringify(bad).slice(0, 300)}`);
  written += body.entry.length;
}
async function put(r, org) {
  r.meta = { tag: [{ system: CUSTODIAN, code: `Organization/${org}` }] };
  pending.push(r);
  if (pending.length === 500) await flush();
}
const loc = (id, code, name, partOf, extra = {}) => ({
  resourceType: 'Location', id, name, status: 'active', mode: 'instance', physicalType: { coding: [{ system: PHYS, code }] },
  ...(partOf ? { partOf: { reference: `Location/${partOf}` } } : {}), ...extra,
});
const bed = (id, parent, status) => loc(id, 'bd', id, parent, { operationalStatus: { system: STATUS, code: status } });
const ward = (id, level, dept, group) => loc(id, 'wa', id, level, {
  managingOrganization: { reference: `Organization/${dept}` }, extension: [{ url: `${EXT}specialty-group`, valueCode: group }],
});
const encounter = (id, patient, dept) => ({
  resourceType: 'Encounter', id, status: 'planned', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
  subject: { reference: `Patient/${patient}` }, serviceProvider: { reference: `Organization/${dept}` },
});

// ---- hospital A: 5,000 beds ----
const A = 'org-bench-a';
await put({ resourceType: 'Organization', id: A, name: '基准医院甲 (5000 床)' }, A);
for (let d = 0; d < 50; d++) await put({ resourceType: 'Organization', id: `a-dept-${d}`, name: `科室${d}`, partOf: { reference: `Organization/${A}` } }, A);
let wardNo = 0;
for (const b of ['a-bu-1', 'a-bu-2']) {
  await put(loc(b, 'bu', b, null, { managingOrganization: { reference: `Organization/${A}` } }), A);
  for (let f = 1; f <= 10; f++) {
    const level = `${b}-f${f}`;
    await put(loc(level, 'lvl', level, b, { extension: [{ url: `${EXT}floor-number`, valueInteger: f }] }), A);
    for (let w = 0; w < 5; w++, wardNo++) {
      // two wards a department, on neighbouring floors: ward n and n + 5
      const dept = Math.floor(wardNo / 10) * 5 + (wardNo % 5);
      const id = `a-wa-${wardNo}`;
      await put(ward(id, level, `a-dept-${dept}`, `group-${dept % 10}`), A);
      for (let r = 0; r < 10; r++) {
        const room = `${id}-r${r}`;
        await put(loc(room, 'ro', room, id), A);
        for (let k = 0; k < 5; k++) {
          const n = wardNo * 50 + r * 5 + k;
          await put(bed(`a-bed-${n}`, room, (n * 7) % 10 < 3 ? 'occupied' : 'free'), A);
        }
      }
    }
  }
}
for (let i = 0; i < 1000; i++) {
  await put({ resourceType: 'Patient', id: `fb-p-${i}`, gender: i % 2 ? 'male' : 'female', birthDate: `${1940 + (i % 80)}-03-15` }, A);
  await put(encounter(`fb-${i}`, `fb-p-${i}`, `a-dept-${i % 50}`), A);
}
await flush();
console.log(`hospital A: 5000 beds, 100 wards, 1000 encounters (${written} resources)`);

// ---- hospital B: beds to assign ----
const B = 'org-bench-b';
await put({ resourceType: 'Organization', id: B, name: '基准医院乙' }, B);
await put(loc('b-bu', 'bu', 'b-bu', null, { managingOrganization: { reference: `Organization/${B}` } }), B);
await put(loc('b-f1', 'lvl', 'b-f1', 'b-bu', { extension: [{ url: `${EXT}floor-number`, valueInteger: 1 }] }), B);
const wards = Math.ceil(ASSIGN_BEDS / 50);
for (let d = 0; d < Math.ceil(wards / 10); d++) await put({ resourceType: 'Organization', id: `b-dept-${d}`, name: `乙科室${d}`, partOf: { reference: `Organization/${B}` } }, B);
for (let w = 0; w < wards; w++) await put(ward(`b-wa-${w}`, 'b-f1', `b-dept-${Math.floor(w / 10)}`, 'group-b'), B);
await put({ resourceType: 'Patient', id: 'ab-p', gender: 'male', birthDate: '1970-01-01' }, B);
for (let i = 0; i < ASSIGN_BEDS; i++) {
  const w = Math.floor(i / 50), dept = `b-dept-${Math.floor(w / 10)}`;
  await put(bed(`ab-bed-${i}`, `b-wa-${w}`, 'free'), B);
  await put(encounter(`ab-${i}`, 'ab-p', dept), B);
  await put(bed(`ar-bed-${i}`, `b-wa-${w}`, 'free'), B);
  for (const t of [0, 1]) await put(encounter(`ar-${t}-${i}`, 'ab-p', dept), B);
}
await flush();
console.log(`hospital B: ${2 * ASSIGN_BEDS} beds, ${3 * ASSIGN_BEDS} encounters (${written} resources in all)`);
