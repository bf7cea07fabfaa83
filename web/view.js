// view.js - small helpers the pages share: building elements, masking identity
// numbers, a readable one-line summary of a resource, a line diff.

import { session } from './api.js';
import { t } from './i18n.js';

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c);
  return el;
}

const RESIDENT_ID = 'https://fhir.yujian.org.cn/sid/cn-resident-id';

// Resident identity numbers shown as 410105********1234: the first six digits (the region) and the last four.
export function maskId(value) {
  const v = String(value);
  return v.length > 10 ? v.slice(0, 6) + '*'.repeat(v.length - 10) + v.slice(-4) : '*'.repeat(v.length);
}

// A copy of a resource with every resident identity number masked, for display.
export function masked(resource) {
  return JSON.parse(JSON.stringify(resource), function mask(key, value) {
    if (value && typeof value === 'object' && value.system === RESIDENT_ID && typeof value.value === 'string')
      return { ...value, value: maskId(value.value) };
    return value;
  });
}

function text(x) {
  if (!x) return '';
  if (typeof x === 'string') return x;
  if (x.text) return x.text;
  if (Array.isArray(x)) return text(x[0]);
  if (x.coding) return x.coding.map((c) => c.display || c.code).join(', ');
  if (x.family || x.given) return `${x.family || ''}${(x.given || []).join('')}`;
  if (x.reference) return x.display || x.reference;
  return '';
}

// One line for a list: the fields people recognise a record by.
export function summary(r) {
  const parts = [];
  if (r.name) parts.push(text(r.name));
  if (r.code) parts.push(text(r.code));
  if (r.gender) parts.push(['male', 'female', 'other', 'unknown'].includes(r.gender) ? t(`gender.${r.gender}`) : r.gender);
  if (r.birthDate) parts.push(r.birthDate);
  if (r.valueQuantity) parts.push(`${r.valueQuantity.value ?? ''} ${r.valueQuantity.unit ?? ''}`.trim());
  if (r.subject) parts.push(text(r.subject));
  if (r.status) parts.push(r.status);
  return parts.filter(Boolean).join(' · ');
}

// Line diff of two texts (longest common subsequence): [{op: ' '|'-'|'+', line}].
export function diffLines(a, b) {
  const x = a.split('\n');
  const y = b.split('\n');
  const n = x.length;
  const m = y.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--) lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      out.push({ op: ' ', line: x[i++] });
      j++;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) out.push({ op: '-', line: x[i++] });
    else out.push({ op: '+', line: y[j++] });
  }
  while (i < n) out.push({ op: '-', line: x[i++] });
  while (j < m) out.push({ op: '+', line: y[j++] });
  return out;
}

export function localTime(instant) {
  if (!instant) return '';
  return new Date(instant).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false });
}

// This month in China's time, "YYYY-MM".
export function thisMonth() {
  return new Date(Date.now() + 8 * 3600000).toISOString().slice(0, 7);
}

// ECharts, loaded once, only by a page that draws (a classic script from web/vendor); null if absent.
let echartsLoading = null;
export function loadECharts() {
  if (window.echarts) return Promise.resolve(window.echarts);
  echartsLoading ||= new Promise((resolve) => {
    const s = h('script', { src: 'vendor/echarts.min.js' });
    s.onload = () => resolve(window.echarts);
    s.onerror = () => resolve(null);
    document.head.append(s);
  });
  return echartsLoading;
}

// Download what path answers (a CSV export) as a file called name.
export async function downloadCsv(path, name) {
  const res = await fetch(path, { headers: { Authorization: `Bearer ${session()?.access || ''}` } });
  const a = h('a', { href: URL.createObjectURL(await res.blob()), download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
