// search_modifiers.test.mjs - composite parameters, the token modifiers
// :text :of-type :in :not-in :above :below, reference :identifier and uri
// :above (FHIR R4 search.html) against the real binary, with the
// terminology taken from CodeSystem and ValueSet resources on the server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, http } from './helpers.mjs';

let srv;
const ids = (b) => (b.entry || []).filter((e) => e.search.mode === 'match').map((e) => e.resource.id).sort();
const outcome = (b) => (b.entry || []).filter((e) => e.search.mode === 'outcome')
  .flatMap((e) => e.resource.issue.map((i) => i.diagnostics)).join('\n');
const get = async (q) => {
  const r = await http('GET', `${srv.base}/${q}`);
  assert.equal(r.status, 200, `${q}: ${r.body}`);
  return r.json;
};
const strict = (q) => http('GET', `${srv.base}/${q}`, { headers: { Prefer: 'handling=strict' } });
const CS = 'http://example.org/fhir/CodeSystem/lab-panels';
const LOINC = 'http://loinc.org';
const enc = encodeURIComponent;

before(async () => {
  srv = await startServer();
  const put = async (res) => {
    const r = await http('PUT', `${srv.base}/${res.resourceType}/${res.id}`, { body: res });
    assert.ok([200, 201].includes(r.status), r.body);
  };
  const obs = (id, code, extra) => put({ resourceType: 'Observation', id, status: 'final', code, ...extra });
  const loinc = (code, display) => ({ coding: [{ system: LOINC, code, display }] });
  // glucose 7.2 and 5.0; blood pressure with two components; a coded value
  await obs('glu-high', loinc('2345-7', 'Glucose [Moles/volume] in Serum'), {
    valueQuantity: { value: 7.2, system: 'http://unitsofmeasure.org', code: 'mmol/L' },
    subject: { identifier: { system: 'urn:cn:resident', value: '410102199001011234' } },
  });
  await obs('glu-normal', { ...loinc('2345-7', 'Glucose [Moles/volume] in Serum'), text: '血糖' }, {
    valueQuantity: { value: 5.0, system: 'http://unitsofmeasure.org', code: 'mmol/L' },
    subject: { reference: 'Patient/p1' },
  });
  await obs('bp', loinc('85354-9', 'Blood pressure panel'), {
    component: [
      { code: loinc('8480-6', 'Systolic'), valueQuantity: { value: 150, code: 'mm[Hg]' } },
      { code: loinc('8462-4', 'Diastolic'), valueQuantity: { value: 90, code: 'mm[Hg]' } },
    ],
  });
  await obs('blood-group', loinc('883-9', 'ABO group'), { valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '112144000' }] } });
  await obs('when', loinc('21112-8', 'Birth date'), { valueDateTime: '2024-05-01' });
  await put({ resourceType: 'Patient', id: 'p1', identifier: [
    { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] }, system: 'urn:hospital:zzu1:mrn', value: 'MR-001' },
    { system: 'urn:cn:resident', value: '410102199001011234' },
  ] });
  await put({ resourceType: 'CodeSystem', id: 'panels', url: CS, status: 'active', content: 'complete', concept: [
    { code: 'chem', concept: [{ code: 'liver', concept: [{ code: 'alt' }, { code: 'ast' }] }, { code: 'glucose' }] },
    { code: 'haem' },
  ] });
  for (const code of ['chem', 'liver', 'alt', 'ast', 'glucose', 'haem'])
    await obs(`p-${code}`, { coding: [{ system: CS, code }] });
  await put({ resourceType: 'ValueSet', id: 'listed', url: 'http://example.org/fhir/ValueSet/glucose', status: 'active',
    compose: { include: [{ system: LOINC, concept: [{ code: '2345-7' }, { code: '2339-0' }] }] } });
  await put({ resourceType: 'ValueSet', id: 'whole', url: 'http://example.org/fhir/ValueSet/panels-not-haem', status: 'active',
    compose: { include: [{ system: CS }], exclude: [{ system: CS, concept: [{ code: 'haem' }] }] } });
  await put({ resourceType: 'ValueSet', id: 'expanded', url: 'http://example.org/fhir/ValueSet/liver', status: 'active',
    expansion: { timestamp: '2024-01-01', contains: [{ system: CS, code: 'liver', contains: [{ system: CS, code: 'alt' }] }] } });
  await put({ resourceType: 'ValueSet', id: 'filtered', url: 'http://example.org/fhir/ValueSet/filtered', status: 'active',
    compose: { include: [{ system: CS, filter: [{ property: 'concept', op: 'is-a', value: 'chem' }] }] } });
});
after(async () => { await srv.stop(); srv.cleanup(); });

test('composite token$quantity: both parts hold for the same element', async () => {
  assert.deepEqual(ids(await get(`Observation?code-value-quantity=${enc(`${LOINC}|2345-7$gt6`)}`)), ['glu-high']);
  assert.deepEqual(ids(await get(`Observation?code-value-quantity=${enc('2345-7$lt6')}`)), ['glu-normal'], 'code without system');
  assert.deepEqual(ids(await get(`Observation?code-value-quantity=${enc('2345-7$7.2|http://unitsofmeasure.org|mmol/L')}`)), ['glu-high']);
  assert.deepEqual(ids(await get(`Observation?code-value-quantity=${enc('2345-7$gt8')}`)), []);
  assert.deepEqual(ids(await get(`Observation?code-value-quantity=${enc('718-7$gt1')}`)), [], 'another code');
  // components: systolic 150 and diastolic 90 must not be mixed up
  assert.deepEqual(ids(await get(`Observation?component-code-value-quantity=${enc('8480-6$gt140')}`)), ['bp']);
  assert.deepEqual(ids(await get(`Observation?component-code-value-quantity=${enc('8480-6$lt100')}`)), [],
    'the 90 belongs to the diastolic component');
  assert.deepEqual(ids(await get(`Observation?component-code-value-quantity=${enc('8462-4$lt100')}`)), ['bp']);
  assert.deepEqual(ids(await get(`Observation?combo-code-value-quantity=${enc('8462-4$lt100,2345-7$gt7')}`)), ['bp', 'glu-high'],
    'OR of composite values, over the observation and its components');
  assert.deepEqual(ids(await get(`Observation?code-value-quantity=${enc('2345-7$gt6')}&code-value-quantity=${enc('2345-7$lt8')}`)), ['glu-high'], 'AND');
});

test('composite token$token, token$date; escaping and errors', async () => {
  assert.deepEqual(ids(await get(`Observation?code-value-concept=${enc('883-9$http://snomed.info/sct|112144000')}`)), ['blood-group']);
  assert.deepEqual(ids(await get(`Observation?code-value-concept=${enc('883-9$112144001')}`)), []);
  assert.deepEqual(ids(await get(`Observation?code-value-date=${enc('21112-8$ge2024-05')}`)), ['when']);
  assert.deepEqual(ids(await get(`Observation?code-value-date=${enc('21112-8$lt2024')}`)), []);
  for (const bad of ['2345-7', '2345-7$', '$gt6', '2345-7$gtx']) {
    const r = await strict(`Observation?code-value-quantity=${enc(bad)}`);
    assert.equal(r.status, 400, bad);
    assert.equal(r.json.resourceType, 'OperationOutcome');
  }
  assert.equal((await strict(`Observation?code-value-quantity:missing=true`)).status, 400, 'no modifier on a composite');
  // a three-part composite is refused, not answered wrongly
  const three = await strict(`MolecularSequence?chromosome-window-coordinate=${enc('1$gt1$lt9')}`);
  assert.equal(three.status, 400);
  assert.match(three.json.issue[0].diagnostics, /more than two components/);
  // "\$" is a literal dollar inside a part
  assert.deepEqual(ids(await get(`Observation?code-value-concept=${enc('883-9$a\\$b')}`)), []);
});

test('token :text matches the display and text, case-insensitively from the start', async () => {
  assert.deepEqual(ids(await get('Observation?code:text=glucose')), ['glu-high', 'glu-normal']);
  assert.deepEqual(ids(await get(`Observation?code:text=${enc('血糖')}`)), ['glu-normal']);
  assert.deepEqual(ids(await get('Observation?code:text=BLOOD%20PRESSURE')), ['bp']);
  assert.deepEqual(ids(await get('Observation?code:text=pressure')), [], 'from the start only');
});

test('identifier :of-type and reference :identifier', async () => {
  const mr = 'http://terminology.hl7.org/CodeSystem/v2-0203|MR';
  assert.deepEqual(ids(await get(`Patient?identifier:of-type=${enc(`${mr}|MR-001`)}`)), ['p1']);
  assert.deepEqual(ids(await get(`Patient?identifier:of-type=${enc(`${mr}|MR-002`)}`)), []);
  assert.deepEqual(ids(await get(`Patient?identifier:of-type=${enc('http://terminology.hl7.org/CodeSystem/v2-0203|DL|MR-001')}`)), []);
  assert.equal((await strict(`Patient?identifier:of-type=${enc('MR|MR-001')}`)).status, 400, 'needs system|code|value');
  assert.deepEqual(ids(await get(`Observation?subject:identifier=${enc('urn:cn:resident|410102199001011234')}`)), ['glu-high']);
  assert.deepEqual(ids(await get('Observation?subject:identifier=410102199001011234')), ['glu-high'], 'value only');
  assert.deepEqual(ids(await get(`Observation?subject:identifier=${enc('urn:other|410102199001011234')}`)), []);
});

test('token :below and :above follow the CodeSystem hierarchy held on the server', async () => {
  assert.deepEqual(ids(await get(`Observation?code:below=${enc(`${CS}|liver`)}`)), ['p-alt', 'p-ast', 'p-liver']);
  assert.deepEqual(ids(await get(`Observation?code:below=${enc(`${CS}|chem`)}`)), ['p-alt', 'p-ast', 'p-chem', 'p-glucose', 'p-liver']);
  assert.deepEqual(ids(await get(`Observation?code:above=${enc(`${CS}|alt`)}`)), ['p-alt', 'p-chem', 'p-liver']);
  assert.deepEqual(ids(await get(`Observation?code:below=${enc(`${CS}|haem`)}`)), ['p-haem']);
  for (const [q, why] of [[`code:below=${enc(`${CS}|nope`)}`, /not in CodeSystem/], [`code:below=liver`, /system\|code/],
    [`code:above=${enc('http://unknown.org/cs|x')}`, /no CodeSystem/]]) {
    const r = await strict(`Observation?${q}`);
    assert.equal(r.status, 400, q);
    assert.match(r.json.issue[0].diagnostics, why);
  }
});

test('token :in and :not-in use the ValueSet held on the server', async () => {
  assert.deepEqual(ids(await get(`Observation?code:in=${enc('http://example.org/fhir/ValueSet/glucose')}`)), ['glu-high', 'glu-normal']);
  assert.deepEqual(ids(await get(`Observation?code:in=${enc('http://example.org/fhir/ValueSet/liver')}`)), ['p-alt', 'p-liver'], 'expansion, nested');
  assert.deepEqual(ids(await get(`Observation?code:in=${enc('http://example.org/fhir/ValueSet/panels-not-haem')}`)),
    ['p-alt', 'p-ast', 'p-chem', 'p-glucose', 'p-liver'], 'a whole CodeSystem minus an exclude');
  assert.deepEqual(ids(await get(`Observation?code:in=${enc('http://example.org/fhir/ValueSet/panels-not-haem|1.0')}&code:not-in=${enc('http://example.org/fhir/ValueSet/liver')}`)),
    ['p-ast', 'p-chem', 'p-glucose'], 'in and not-in together; a version suffix is accepted');
  const notIn = ids(await get(`Observation?code:not-in=${enc('http://example.org/fhir/ValueSet/panels-not-haem')}`));
  assert.ok(notIn.includes('p-haem') && notIn.includes('bp') && !notIn.includes('p-chem'), notIn.join());
  const filtered = await strict(`Observation?code:in=${enc('http://example.org/fhir/ValueSet/filtered')}`);
  assert.equal(filtered.status, 400, 'a filter needs a terminology service: refused, not ignored');
  const lenient = await get(`Observation?code:in=${enc('http://example.org/fhir/ValueSet/filtered')}`);
  assert.match(outcome(lenient), /filter/);
  assert.equal((await strict(`Observation?code:in=${enc('http://example.org/fhir/ValueSet/none')}`)).status, 400);
  // a bound code (status) is indexed with its implicit system, so a value set of that system matches it
  const put = (res) => http('PUT', `${srv.base}/${res.resourceType}/${res.id}`, { body: res });
  await put({ resourceType: 'ValueSet', id: 'done', url: 'http://example.org/fhir/ValueSet/done', status: 'active',
    compose: { include: [{ system: 'http://hl7.org/fhir/observation-status', concept: [{ code: 'final' }, { code: 'amended' }] }] } });
  const done = ids(await get(`Observation?status:in=${enc('http://example.org/fhir/ValueSet/done')}`));
  assert.ok(done.includes('glu-high') && done.includes('bp'), done.join());
  assert.deepEqual(ids(await get(`Observation?status:not-in=${enc('http://example.org/fhir/ValueSet/done')}`)), []);
  await http('DELETE', `${srv.base}/ValueSet/done`);
});

test('uri :above and :below', async () => {
  assert.deepEqual(ids(await get(`ValueSet?url:above=${enc('http://example.org/fhir/ValueSet/liver/_history/2')}`)), ['expanded']);
  assert.deepEqual(ids(await get(`ValueSet?url:above=${enc('http://example.org/fhir/ValueSet/liverwurst')}`)), []);
  assert.deepEqual(ids(await get(`ValueSet?url:below=${enc('http://example.org/fhir/ValueSet/')}`)),
    ['expanded', 'filtered', 'listed', 'whole']);
});

test('the new index entries follow updates and deletes', async () => {
  const put = (res) => http('PUT', `${srv.base}/${res.resourceType}/${res.id}`, { body: res });
  await put({ resourceType: 'Observation', id: 'moving', status: 'final', code: { coding: [{ system: LOINC, code: '2345-7' }] },
    valueQuantity: { value: 20 } });
  assert.deepEqual(ids(await get(`Observation?code-value-quantity=${enc('2345-7$gt19')}`)), ['moving']);
  await put({ resourceType: 'Observation', id: 'moving', status: 'final', code: { coding: [{ system: LOINC, code: '2345-7' }] },
    valueQuantity: { value: 3 } });
  assert.deepEqual(ids(await get(`Observation?code-value-quantity=${enc('2345-7$gt19')}`)), []);
  await http('DELETE', `${srv.base}/Observation/moving`);
  assert.deepEqual(ids(await get(`Observation?code-value-quantity=${enc('2345-7$lt4')}`)), []);
});
