// recognition_seed.mjs URL TOKEN - what $recognizable needs on a province data set
// (bench/province.mjs): the organisations it names, with an EQA record for its ten
// items, their city commissions, and a recognition catalogue. PUTs: safe to run again.
const [url, token] = process.argv.slice(2);
const ITEMS = ['2345-7', '718-7', '6690-2', '777-3', '2160-0', '1742-6', '2093-3', '2571-8', '4548-4', '3016-3'];
const ORGS = { 'org-zzu1': '410100', 'org-hnph': '410100', 'org-zkszxyy': '411600', 'org-lyzxyy': '410300', 'org-xxzxyy': '410700' };
const EXT = 'https://fhir.yujian.org.cn/StructureDefinition/';
async function put(r) {
  const res = await fetch(`${url}/fhir/${r.resourceType}/${r.id}`, {
    method: 'PUT', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/fhir+json' }, body: JSON.stringify(r),
  });
  if (res.status >= 300) throw new Error(`${r.resourceType}/${r.id}: ${res.status} ${await res.text()}`);
}
await put({ resourceType: 'Organization', id: 'hc-410000', name: '河南省卫生健康委员会', identifier: [{ system: 'urn:oid:2.16.156.10011.0.9.2.1', value: '410000' }] });
for (const city of new Set(Object.values(ORGS)))
  await put({ resourceType: 'Organization', id: `hc-${city}`, name: `${city}卫生健康委员会`, identifier: [{ system: 'urn:oid:2.16.156.10011.0.9.2.1', value: city }], partOf: { reference: 'Organization/hc-410000' } });
for (const [id, city] of Object.entries(ORGS)) {
  const extension = ITEMS.map((code) => ({ url: `${EXT}eqa`, extension: [
    { url: 'item', valueCoding: { system: 'http://loinc.org', code } },
    { url: 'period', valuePeriod: { start: '2023-01-01', end: '2027-12-31' } },
    { url: 'result', valueCode: 'pass' }] }));
  await put({ resourceType: 'Organization', id, name: id, partOf: { reference: `Organization/hc-${city}` }, extension });
}
await put({
  resourceType: 'CodeSystem', id: 'recognition-items-bench', url: 'https://fhir.yujian.org.cn/CodeSystem/recognition-items',
  version: 'bench', status: 'active', content: 'complete',
  concept: ITEMS.map((code, i) => ({ code, property: [{ code: 'kind', valueCode: 'lab' }, { code: 'scope', valueCode: i % 3 ? 'province' : 'city' },
    { code: 'window-days', valueInteger: 7 }, { code: 'price-fen', valueInteger: 1000 + i * 100 }] })),
});
console.log(`seeded: ${Object.keys(ORGS).length} laboratories, ${ITEMS.length} items`);
