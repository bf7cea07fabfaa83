// The whole-hospital bed pool (全院一张床, DOMAIN.md §2) through the FHIR API: $find-bed ranks a
// department's own free beds, then beds borrowed from wards of the same specialty group within the
// floor distance, and says why the other free beds do not fit; $assign-bed, $transfer, $discharge,
// $cleaned, $block and $unblock move beds along their statuses; racing clerks never share a bed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { http, diagnostics, putAs, startWithUsers, startServer } from './helpers.mjs';

const EXT = 'https://fhir.yujian.org.cn/StructureDefinition/';
const PHYS = 'http://terminology.hl7.org/CodeSystem/location-physical-type';
const STATUS = 'https://fhir.yujian.org.cn/CodeSystem/bed-status';
const TYPE = 'https://fhir.yujian.org.cn/CodeSystem/bed-type';

let srv;
let tok = {};
const as = (name) => ({ Authorization: `Bearer ${tok[name]}` });
const users = [
  ['hadm', 'hospital-admin', ['--org', 'Organization/h1']],
  ['adm', 'admission', ['--org', 'Organization/h1']],
  ['adm2', 'admission', ['--org', 'Organization/h2']],
  ['nurse', 'nurse', ['--org', 'Organization/h1']],
  ['doc', 'doctor', ['--org', 'Organization/h1']],
];

const put = (body, who = 'hadm') => putAs(srv, as(who), body);
const place = (id, code, name, partOf, extra = {}) => ({
  resourceType: 'Location', id, name, status: 'active', mode: 'instance',
  physicalType: { coding: [{ system: PHYS, code }] },
  ...(partOf ? { partOf: { reference: `Location/${partOf}` } } : {}), ...extra,
});
const ward = (id, name, level, dept, group, more = []) => place(id, 'wa', name, level, {
  managingOrganization: { reference: `Organization/${dept}` },
  extension: [{ url: `${EXT}specialty-group`, valueCode: group }, ...more],
});
const bed = (id, parent, ext = [], type) => place(id, 'bd', id, parent, {
  operationalStatus: { system: STATUS, code: 'free' },
  ...(type ? { type: [{ coding: [{ system: TYPE, code: type }] }] } : {}),
  ...(ext.length ? { extension: ext } : {}),
});
const encounter = (id, patient, dept, status = 'planned') => ({
  resourceType: 'Encounter', id, status,
  class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
  subject: { reference: `Patient/${patient}` }, serviceProvider: { reference: `Organization/${dept}` },
});
const params = (obj) => {
  const parameter = Object.entries(obj).map(([name, v]) => (typeof v === 'boolean' ? { name, valueBoolean: v }
    : v.includes('/') ? { name, valueReference: { reference: v } } : { name, valueString: v }));
  return { resourceType: 'Parameters', ...(parameter.length ? { parameter } : {}) };
};
const op = (path, body, who = 'adm') => http('POST', `${srv.base}/${path}`, { headers: as(who), body: params(body) });
const find = async (query, who = 'adm') => {
  const r = await http('GET', `${srv.base}/Location/$find-bed?${query}`, { headers: as(who) });
  assert.equal(r.status, 200, r.body);
  const out = { candidates: [], unfit: {} };
  for (const p of r.json.parameter) {
    if (p.name === 'candidate') {
      const c = Object.fromEntries(p.part.map((x) => [x.name, x.valueReference?.reference ?? x.valueCode ?? x.valueInteger ?? x.valueString]));
      out.candidates.push(c);
    } else if (p.name === 'not-suitable') {
      const u = Object.fromEntries(p.part.map((x) => [x.name, x.valueCode ?? x.valueInteger]));
      out.unfit[u.reason] = u.count;
    } else out[p.name] = p.valueInteger ?? p.valueReference?.reference ?? p.valueString;
  }
  return out;
};
const read = async (path) => (await http('GET', `${srv.base}/${path}`, { headers: as('adm') })).json;
const bedStatus = async (id) => (await read(`Location/${id}`)).operationalStatus.code;
const out = (r) => Object.fromEntries(r.json.parameter.map((p) => [p.name, p.valueCode ?? p.valueBoolean ?? p.valueInteger ?? p.valueReference?.reference]));

before(async () => {
  ({ srv, tok } = await startWithUsers(users));
  await put({ resourceType: 'Organization', id: 'h1', name: '第一医院' });
  for (const [id, name] of [['gs', '普外科'], ['orth', '骨科'], ['uro', '泌尿外科'], ['card', '心内科'], ['inf', '感染科'], ['far', '胸外科']])
    await put({ resourceType: 'Organization', id, name, partOf: { reference: 'Organization/h1' } });
  // building A: floors 3, 4 and 6; building B: floor 3
  await put(place('bu-a', 'bu', 'A楼', null, { managingOrganization: { reference: 'Organization/h1' } }));
  await put(place('bu-b', 'bu', 'B楼', null, { managingOrganization: { reference: 'Organization/h1' } }));
  for (const [id, b, floor] of [['a3', 'bu-a', 3], ['a4', 'bu-a', 4], ['a6', 'bu-a', 6], ['b3', 'bu-b', 3]])
    await put(place(id, 'lvl', id, b, { extension: [{ url: `${EXT}floor-number`, valueInteger: floor }] }));
  await put(ward('wa-gs', '普外一病区', 'a3', 'gs', 'surgery'));
  await put(ward('wa-orth', '骨科病区', 'a4', 'orth', 'surgery'));
  await put(ward('wa-far', '胸外病区', 'a6', 'far', 'surgery'));
  await put(ward('wa-uro', '泌尿病区', 'b3', 'uro', 'surgery'));
  await put(ward('wa-card', '心内病区', 'a3', 'card', 'internal'));
  await put(ward('wa-inf', '感染病区', 'a4', 'inf', 'surgery', [{ url: `${EXT}isolation-ward`, valueBoolean: true }]));
  await put(place('ro-gs1', 'ro', '301室', 'wa-gs'));
  await put(bed('gs-1', 'ro-gs1', [{ url: `${EXT}bed-sex`, valueCode: 'male' }]));
  await put(bed('gs-2', 'ro-gs1'));
  await put(bed('gs-ped', 'wa-gs', [{ url: `${EXT}bed-age-max`, valueInteger: 14 }]));
  await put(bed('gs-icu', 'wa-gs', [], 'icu'));
  await put(bed('orth-1', 'wa-orth'));
  await put(bed('orth-2', 'wa-orth'));
  await put(bed('far-1', 'wa-far'));
  await put(bed('uro-1', 'wa-uro'));
  await put(bed('card-1', 'wa-card'));
  await put(bed('inf-1', 'wa-inf'));
  await put({ resourceType: 'Patient', id: 'pm', gender: 'male', birthDate: '1984-05-01' }, 'adm');
  await put({ resourceType: 'Patient', id: 'pf', gender: 'female', birthDate: '1994-05-01' }, 'adm');
  for (const [id, p] of [['e1', 'pm'], ['e2', 'pf'], ['e3', 'pm'], ['e4', 'pf'], ['e5', 'pm'], ['e6', 'pm']])
    await put(encounter(id, p, 'gs'), 'adm');
});
after(async () => { await srv.stop(); srv.cleanup(); });

test('$find-bed ranks own beds first, then near beds of the specialty group, and says why others do not fit', async () => {
  const f = await find('encounter=Encounter/e1');
  assert.deepEqual(f.candidates.map((c) => c.bed), ['Location/gs-1', 'Location/gs-2', 'Location/orth-1', 'Location/orth-2']);
  assert.deepEqual(f.candidates.map((c) => c.fit), ['own', 'own', 'borrow', 'borrow']);
  assert.equal(f.candidates[2]['floor-distance'], 1);
  assert.equal(f.candidates[2].department, 'Organization/orth');
  assert.match(f.candidates[2].reason, /借床/);
  assert.equal(f.total, 4);
  assert.equal(f.hospital, 'Organization/h1');
  // far-1 three floors up, uro-1 in building B; card-1 another group; inf-1 an isolation ward
  assert.deepEqual(f.unfit, { far: 2, group: 1, 'isolation-ward': 1, age: 1, type: 1 });
  // a woman does not get the men's bed; a child gets the children's bed; the ICU bed by its type
  const women = await find('encounter=Encounter/e2');
  assert.ok(!women.candidates.some((c) => c.bed === 'Location/gs-1'));
  assert.equal(women.unfit.sex, 1);
  const child = await find('department=Organization/gs&gender=female&age=6');
  assert.ok(child.candidates.some((c) => c.bed === 'Location/gs-ped'));
  const icu = await find('department=Organization/gs&bed-type=icu&count=1');
  assert.deepEqual(icu.candidates.map((c) => c.bed), ['Location/gs-icu']);
  // the borrowing distance is configuration: count limits the list, not the total
  const one = await find('encounter=Encounter/e1&count=1');
  assert.equal(one.candidates.length, 1);
  assert.equal(one.total, 4);
});

test('$find-bed refuses what it cannot read', async () => {
  const bad = async (q, status) => {
    const r = await http('GET', `${srv.base}/Location/$find-bed?${q}`, { headers: as('adm') });
    assert.equal(r.status, status, `${q}: ${r.body}`);
    assert.equal(r.json.resourceType, 'OperationOutcome');
  };
  await bad('', 400);
  await bad('department=Organization/gs&age=old', 400);
  await bad('department=Organization/gs&count=0', 400);
  await bad('encounter=Encounter/none', 404);
  await bad('department=gs', 400);
});

test('$assign-bed: the bed is occupied, the encounter is in it, a taken bed is refused with 409', async () => {
  const r = await op('Location/gs-2/$assign-bed', { encounter: 'Encounter/e1' });
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(out(r), { bed: 'Location/gs-2', status: 'occupied', encounter: 'Encounter/e1', borrowed: false });
  const b = await read('Location/gs-2');
  assert.equal(b.operationalStatus.code, 'occupied');
  assert.equal(b.extension.find((e) => e.url === `${EXT}bed-encounter`).valueReference.reference, 'Encounter/e1');
  const e = await read('Encounter/e1');
  assert.equal(e.status, 'in-progress');
  assert.ok(e.period.start);
  assert.deepEqual(e.location.map((l) => [l.location.reference, l.status]), [['Location/gs-2', 'active']]);
  // the pool follows at once
  assert.ok(!(await find('encounter=Encounter/e2')).candidates.some((c) => c.bed === 'Location/gs-2'));
  const taken = await op('Location/gs-2/$assign-bed', { encounter: 'Encounter/e2' });
  assert.equal(taken.status, 409, taken.body);
  assert.match(diagnostics(taken.json), /occupied/);
  // an encounter already in a bed moves with $transfer
  const twice = await op('Location/gs-1/$assign-bed', { encounter: 'Encounter/e1' });
  assert.equal(twice.status, 409);
  assert.match(diagnostics(twice.json), /\$transfer/);
});

test('borrowing: within the group and near enough; emergencies may go further and are recorded', async () => {
  const r = await op('Location/orth-1/$assign-bed', { encounter: 'Encounter/e3' });
  assert.equal(r.status, 200, r.body);
  assert.equal(out(r).borrowed, true);
  assert.equal(out(r)['host-department'], 'Organization/orth');
  const e = await read('Encounter/e3');
  assert.equal(e.serviceProvider.reference, 'Organization/gs'); // clinical responsibility stays home
  assert.equal(e.location[0].extension[0].url, `${EXT}borrowed-bed`);
  assert.equal(e.location[0].extension[0].valueReference.reference, 'Organization/orth');
  const other = await op('Location/card-1/$assign-bed', { encounter: 'Encounter/e4' });
  assert.equal(other.status, 422);
  assert.match(diagnostics(other.json), /专科组/);
  const far = await op('Location/far-1/$assign-bed', { encounter: 'Encounter/e4' });
  assert.equal(far.status, 422);
  const iso = await op('Location/inf-1/$assign-bed', { encounter: 'Encounter/e4' });
  assert.equal(iso.status, 422);
  assert.equal(await bedStatus('card-1'), 'free'); // nothing written
  const urgent = await op('Location/card-1/$assign-bed', { encounter: 'Encounter/e4', emergency: true });
  assert.equal(urgent.status, 200, urgent.body);
  assert.equal(out(urgent).borrowed, true);
});

test('$transfer, $discharge and $cleaned: the bed left is cleaned, with its turnaround', async () => {
  const t = await op('Encounter/e1/$transfer', { bed: 'Location/gs-1' });
  assert.equal(t.status, 200, t.body);
  assert.equal(await bedStatus('gs-2'), 'cleaning');
  assert.equal(await bedStatus('gs-1'), 'occupied');
  let e = await read('Encounter/e1');
  assert.deepEqual(e.location.map((l) => [l.location.reference, l.status]), [['Location/gs-2', 'completed'], ['Location/gs-1', 'active']]);
  assert.ok(e.location[0].period.end);
  // a bed being cleaned is not free
  assert.equal((await op('Location/gs-2/$assign-bed', { encounter: 'Encounter/e5' })).status, 409);
  const c = await op('Location/gs-2/$cleaned', {}, 'nurse');
  assert.equal(c.status, 200, c.body);
  assert.equal(out(c).status, 'free');
  assert.equal(out(c)['turnaround-minutes'], 0);
  assert.equal((await op('Location/gs-2/$cleaned', {}, 'nurse')).status, 409);
  const d = await op('Encounter/e1/$discharge', { disposition: '治愈出院' });
  assert.equal(d.status, 200, d.body);
  assert.equal(out(d).status, 'cleaning');
  e = await read('Encounter/e1');
  assert.equal(e.status, 'finished');
  assert.ok(e.period.end);
  assert.equal(e.hospitalization.dischargeDisposition.text, '治愈出院');
  assert.equal((await op('Encounter/e1/$discharge', {})).status, 409);
  // every change is a version of the bed
  const h = await read('Location/gs-1/_history');
  assert.deepEqual(h.entry.map((x) => x.resource.operationalStatus.code), ['cleaning', 'occupied', 'free']);
});

test('a reservation holds the bed for its encounter only; a cancelled one frees it', async () => {
  const r = await op('Location/gs-2/$assign-bed', { encounter: 'Encounter/e5', reserve: true });
  assert.equal(r.status, 200, r.body);
  assert.equal(out(r).status, 'reserved');
  assert.equal((await read('Encounter/e5')).status, 'planned');
  assert.equal((await op('Location/gs-2/$assign-bed', { encounter: 'Encounter/e6' })).status, 409);
  const admit = await op('Location/gs-2/$assign-bed', { encounter: 'Encounter/e5' });
  assert.equal(admit.status, 200, admit.body);
  assert.equal(out(admit).status, 'occupied');
  const e = await read('Encounter/e5');
  assert.deepEqual(e.location.map((l) => l.status), ['active']);
  // e6 reserves orth-2 and is cancelled: the bed is free again, no cleaning
  assert.equal((await op('Location/orth-2/$assign-bed', { encounter: 'Encounter/e6', reserve: true })).status, 200);
  const cancel = await op('Encounter/e6/$discharge', {});
  assert.equal(cancel.status, 200, cancel.body);
  assert.equal(await bedStatus('orth-2'), 'free');
  assert.equal((await read('Encounter/e6')).status, 'cancelled');
});

test('$block and $unblock: a reason is required; isolation ends in terminal cleaning', async () => {
  assert.equal((await op('Location/uro-1/$block', {}, 'nurse')).status, 400);
  const b = await op('Location/uro-1/$block', { reason: '床栏维修' }, 'nurse');
  assert.equal(b.status, 200, b.body);
  assert.equal(out(b).status, 'blocked');
  assert.equal((await read('Location/uro-1')).extension.find((x) => x.url === `${EXT}bed-status-reason`).valueString, '床栏维修');
  assert.equal((await op('Location/uro-1/$block', { reason: 'again' }, 'nurse')).status, 409);
  assert.equal(out(await op('Location/uro-1/$unblock', {}, 'nurse')).status, 'free');
  assert.equal(out(await op('Location/uro-1/$block', { reason: '疑似结核', isolation: true }, 'nurse')).status, 'isolation');
  assert.equal(out(await op('Location/uro-1/$unblock', {}, 'nurse')).status, 'cleaning');
  assert.equal(out(await op('Location/uro-1/$cleaned', {}, 'nurse')).status, 'free');
});

test('a Location written directly is seen by the next $find-bed (the pool follows the store)', async () => {
  const before = await find('encounter=Encounter/e2');
  assert.ok(!before.candidates.some((c) => c.bed === 'Location/gs-ped'));
  await put(bed('gs-ped', 'wa-gs')); // no longer a children's bed
  const after = await find('encounter=Encounter/e2');
  assert.ok(after.candidates.some((c) => c.bed === 'Location/gs-ped'));
  await http('DELETE', `${srv.base}/Location/gs-ped`, { headers: as('hadm') });
  assert.ok(!(await find('encounter=Encounter/e2')).candidates.some((c) => c.bed === 'Location/gs-ped'));
});

test('who may: other hospitals and roles without bed rights are refused, and nothing changes', async () => {
  await put(encounter('e-other', 'pf', 'gs'), 'adm');
  const other = await op('Location/orth-2/$assign-bed', { encounter: 'Encounter/e-other' }, 'adm2');
  assert.equal(other.status, 403, other.body);
  const doctor = await op('Location/orth-2/$assign-bed', { encounter: 'Encounter/e-other' }, 'doc');
  assert.equal(doctor.status, 403, doctor.body);
  assert.equal(await bedStatus('orth-2'), 'free');
  assert.equal((await op('Location/nope/$assign-bed', { encounter: 'Encounter/e-other' })).status, 404);
  assert.equal((await op('Location/orth-2/$assign-bed', {})).status, 400);
  await put({ ...encounter('e-nodept', 'pf', 'gs'), serviceProvider: undefined }, 'adm');
  assert.equal((await op('Location/orth-2/$assign-bed', { encounter: 'Encounter/e-nodept' })).status, 422);
  assert.equal(await bedStatus('orth-2'), 'free');
});

test('clerks racing for the last bed: exactly one wins, the others get 409, no bed is given twice', async () => {
  await put(ward('wa-race', '竞争病区', 'a3', 'gs', 'surgery'));
  const rounds = 5, clerks = 12;
  for (let round = 0; round < rounds; round++) {
    await put(bed(`race-${round}`, 'wa-race'));
    for (let i = 0; i < clerks; i++) await put(encounter(`race-${round}-${i}`, i % 2 ? 'pm' : 'pf', 'gs'), 'adm');
  }
  for (let round = 0; round < rounds; round++) {
    const all = await Promise.all(Array.from({ length: clerks }, (_, i) =>
      op(`Location/race-${round}/$assign-bed`, { encounter: `Encounter/race-${round}-${i}` })));
    const won = all.filter((r) => r.status === 200);
    assert.equal(won.length, 1, all.map((r) => r.status).join(','));
    for (const r of all.filter((x) => x.status !== 200)) {
      assert.equal(r.status, 409, r.body);
      assert.equal(r.json.resourceType, 'OperationOutcome');
    }
    const holder = out(won[0]).encounter;
    const b = await read(`Location/race-${round}`);
    assert.equal(b.extension.find((e) => e.url === `${EXT}bed-encounter`).valueReference.reference, holder);
    // only the winner's encounter holds the bed
    const holding = await http('GET', `${srv.base}/Encounter?location=Location/race-${round}`, { headers: as('adm') });
    assert.deepEqual(holding.json.entry.map((x) => `Encounter/${x.resource.id}`), [holder]);
  }
});

test('$bed-board: every ward\'s beds with their status, who is in them and which are borrowed', async () => {
  const board = async (q = '', who = 'nurse') => {
    const r = await http('GET', `${srv.base}/Location/$bed-board${q}`, { headers: as(who) });
    assert.equal(r.status, 200, r.body);
    return r.json.parameter.filter((p) => p.name === 'ward').map((w) => ({
      ward: w.part.find((x) => x.name === 'ward').valueReference.reference,
      beds: w.part.filter((x) => x.name === 'bed').map((b) => Object.fromEntries(b.part.map((x) => [x.name, x.valueCode ?? x.valueBoolean ?? x.valueReference?.reference]))),
    }));
  };
  const all = await board();
  assert.ok(all.some((w) => w.ward === 'Location/wa-orth'));
  const orth = (await board('?ward=Location/wa-orth'));
  assert.deepEqual(orth.map((w) => w.ward), ['Location/wa-orth']);
  const lent = orth[0].beds.find((b) => b.bed === 'Location/orth-1');
  assert.equal(lent.status, 'occupied');
  assert.equal(lent.encounter, 'Encounter/e3');
  assert.equal(lent.patient, 'Patient/pm');
  assert.equal(lent.borrowed, true);
  assert.equal(lent['home-department'], 'Organization/gs');
  // another hospital's clerk gets their own (empty) board
  assert.deepEqual(await board('', 'adm2'), []);
});

test('$bed-board?beds=false lists the wards with their bed counts only', async () => {
  const r = await http('GET', `${srv.base}/Location/$bed-board?beds=false`, { headers: as('nurse') });
  assert.equal(r.status, 200, r.body);
  const wards = r.json.parameter.filter((p) => p.name === 'ward');
  assert.ok(wards.length >= 6);
  for (const w of wards) assert.ok(!w.part.some((x) => x.name === 'bed'));
  const gs = wards.find((w) => w.part[0].valueReference.reference === 'Location/wa-gs');
  assert.equal(gs.part.find((x) => x.name === 'beds').valueInteger, 3); // gs-1, gs-2, gs-icu (gs-ped deleted)
});

test('a restarted server loads its beds at start, before the first call, and serves the same board', async () => {
  const boardBefore = (await http('GET', `${srv.base}/Location/$bed-board?beds=false`, { headers: as('nurse') })).json;
  await srv.stop();
  srv = await startServer({ dir: srv.dir });
  let line;
  for (let i = 0; i < 100 && !line; i++) {
    line = srv.stderr().match(/bed pool loaded locations=(\d+) beds=(\d+) ms=\d+/);
    if (!line) await new Promise((done) => setTimeout(done, 20));
  }
  assert.ok(line, `no load at start in the log:\n${srv.stderr()}`);
  // every bed on the boards (one hospital has beds here), and the other Locations besides
  const beds = boardBefore.parameter.filter((p) => p.name === 'ward')
    .reduce((n, w) => n + w.part.find((x) => x.name === 'beds').valueInteger, 0);
  assert.equal(Number(line[2]), beds);
  assert.ok(Number(line[1]) > beds);
  const boardAfter = (await http('GET', `${srv.base}/Location/$bed-board?beds=false`, { headers: as('nurse') })).json;
  assert.deepEqual(boardAfter, boardBefore);
});
