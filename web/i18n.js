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
  recognition: ['结果互认', 'Result recognition'],
  indicators: ['互认指标', 'Recognition indicators'],
  patient: ['患者', 'Patient'],
  patientHint: ['患者编号或18位身份证号', 'Patient id or 18-character resident id'],
  emergencyVisit: ['急诊（不受互认约束）', 'Emergency visit (not bound)'],
  findResults: ['查看可互认结果', 'Find recognisable results'],
  boundNote: ['依据：检查检验结果互认管理办法；复查须注明理由并向患者说明。', 'Rule: results must be recognised unless one of the six situations applies; explain any re-test to the patient.'],
  notBound: ['急诊患者不受互认约束。', 'Emergency visits are not bound by recognition.'],
  noPriorResults: ['无既往结果，可直接开具检查检验。', 'No prior result: order the test.'],
  reported: ['报告时间', 'Reported'],
  performer: ['检验/检查机构', 'Laboratory'],
  value: ['结果', 'Result'],
  recognisable: ['可否互认', 'Recognisable'],
  yes: ['可互认', 'yes'],
  window: ['有效期 {0} 天', '{0}-day window'],
  decision: ['医师决定', 'Decision'],
  recogniseResult: ['互认 {0} 的结果', 'Recognise the result of {0}'],
  nothingToRecognise: ['无可互认结果', 'Nothing to recognise'],
  retest: ['复查', 'Re-test'],
  retestReason: ['复查理由', 'Reason for the re-test'],
  chooseReason: ['— 复查理由 —', '— reason for a re-test —'],
  note: ['说明', 'Explanation'],
  noteHint: ['说明（不超过200字）', 'Explanation (200 characters at most)'],
  explained: ['已向患者说明', 'Explained to the patient'],
  consent: ['患者同意', 'Patient consents'],
  recordDecisions: ['记录决定', 'Record the decisions'],
  recorded: ['已记录 {0} 项决定，节省费用 ¥{1}', '{0} decisions recorded; ¥{1} saved'],
  'reason.condition-changed': ['病情变化，原结果与临床表现不符', 'The condition changed'],
  'reason.fast-changing': ['检查检验项目变化快', 'An item that changes fast'],
  'reason.major-intervention': ['手术、输血等重大诊疗措施前', 'Before a major intervention'],
  'reason.emergency': ['急诊、急救', 'Emergency or rescue'],
  'reason.forensic': ['司法、伤残、病退鉴定', 'Forensic or disability assessment'],
  'reason.other': ['其他合理情形（须患者同意）', 'Another justified case (needs consent)'],
  'reason.patient-request': ['患者要求（须患者同意）', "The patient's request (needs consent)"],
  period: ['月份', 'Month'],
  level: ['层级', 'Level'],
  'level.hospital': ['医院', 'Hospital'],
  'level.city': ['城市', 'City'],
  'level.province': ['全省', 'Province'],
  show: ['查看', 'Show'],
  downloadCsv: ['导出 CSV', 'Download CSV'],
  noIndicators: ['该月暂无数据', 'Nothing for this month'],
  noChart: ['图表组件未安装（make run 会安装）', 'The chart library is not installed (make run installs it)'],
  'ind.recognition-rate': ['互认率', 'Recognition rate'],
  'ind.avoided-tests': ['避免重复检查', 'Avoided tests'],
  'ind.fees-saved': ['节省费用', 'Fees saved'],
  'ind.retests': ['复查', 'Re-tests'],
  'ind.marked-province': ['豫HR 项目', 'Province-marked'],
  'ind.marked-city': ['市级标识项目', 'City-marked'],
  'ind.marked-alliance': ['医联体项目', 'Alliance'],
  'ind.eqa-labs': ['质评合格实验室', 'EQA-passed labs'],
  'ind.eqa-items': ['质评合格项目', 'EQA-passed items'],
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
