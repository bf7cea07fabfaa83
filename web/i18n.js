// i18n.js - the console's words, Simplified Chinese first, English second.
// t(key, ...args) returns the text in the chosen language; {0}, {1} take args.

const words = {
  brand: ['豫健 · 控制台', 'Yujian console'],
  otherLanguage: ['English', '中文'],
  logout: ['退出', 'Sign out'],
  login: ['登录', 'Sign in'],
  loginTitle: ['登录豫健平台', 'Sign in to Yujian'],
  username: ['账号', 'Account'],
  password: ['密码', 'Password'],
  badLogin: ['账号或密码不正确，或账号已锁定', 'Wrong account or password, or the account is locked'],
  sessionExpired: ['会话已过期，请重新登录', 'Your session has expired; please sign in again'],
  locked: ['账号因多次登录失败已临时锁定，请稍后再试', 'The account is locked after repeated failed sign-ins; try again later'],
  mustChange: ['首次登录请先修改一次性密码', 'Change the one-time password before the first sign-in'],
  changePassword: ['修改密码', 'Change password'],
  newPassword: ['新密码', 'New password'],
  repeatPassword: ['再次输入新密码', 'New password again'],
  passwordsDiffer: ['两次输入的新密码不一致', 'The two new passwords differ'],
  passwordChanged: ['密码已修改，请用新密码登录', 'Password changed; sign in with the new one'],
  browser: ['数据浏览', 'Data browser'],
  resourceType: ['资源类型', 'Resource type'],
  criteria: ['检索条件', 'Search criteria'],
  criteriaHint: ['例如 name=王 或 subject=Patient/pat-0001', 'e.g. name=王 or subject=Patient/pat-0001'],
  search: ['检索', 'Search'],
  total: ['共 {0} 条', '{0} in all'],
  noResults: ['没有符合条件的记录', 'No records match'],
  previous: ['上一页', 'Previous'],
  next: ['下一页', 'Next'],
  id: ['编号', 'Id'],
  updated: ['更新时间', 'Updated'],
  summary: ['摘要', 'Summary'],
  version: ['版本', 'Version'],
  back: ['返回列表', 'Back to the list'],
  history: ['历史版本', 'History'],
  compare: ['比较所选两个版本', 'Compare the two selected versions'],
  pickTwo: ['请选择两个版本', 'Select two versions'],
  diffTitle: ['版本 {0} → {1} 的差异', 'Changes from version {0} to {1}'],
  noDiff: ['两个版本内容相同', 'The two versions are the same'],
  deleted: ['已删除', 'deleted'],
  loading: ['加载中…', 'Loading…'],
  'gender.male': ['男', 'male'],
  'gender.female': ['女', 'female'],
  'gender.other': ['其他', 'other'],
  'gender.unknown': ['未知', 'unknown'],
  err400: ['请求有误', 'The request is not valid'],
  err401: ['请重新登录', 'Please sign in again'],
  err403: ['您无权查看或修改这些记录', 'You may not see or change these records'],
  err404: ['未找到', 'Not found'],
  err410: ['该记录已删除', 'This record was deleted'],
  err413: ['请求过大或过于复杂', 'The request is too large or too costly'],
  err429: ['请求过于频繁，请稍后再试', 'Too many requests; please try again shortly'],
  err5xx: ['服务器出错，请稍后再试', 'The server failed; please try again later'],
  errNetwork: ['无法连接服务器', 'Cannot reach the server'],
};

let lang = localStorage.getItem('yujian.lang') === 'en' ? 'en' : 'zh';

export function language() {
  return lang;
}

export function setLanguage(next) {
  lang = next === 'en' ? 'en' : 'zh';
  localStorage.setItem('yujian.lang', lang);
  document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
}

export function t(key, ...args) {
  const entry = words[key];
  const text = entry ? entry[lang === 'en' ? 1 : 0] : key;
  return text.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)] ?? ''));
}

// Fill every element carrying data-t="key" under root.
export function translate(root) {
  for (const el of root.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  for (const el of root.querySelectorAll('[data-t-placeholder]')) el.placeholder = t(el.dataset.tPlaceholder);
}
