// zh-CN (the demo's default) and English. The choice is a display preference, kept in localStorage.
const STRINGS = {
  "zh-CN": {
    login: "登录", username: "用户名", password: "密码", logout: "退出", lang: "English",
    map: "地图与排程", safety: "安全看板", review: "复核与报表", tracing: "查找队列", cases: "案件",
    kind: "类型", status: "状态", all: "全部", district: "区域", filter: "筛选", date: "日期",
    collectors: "外访员", plan: "排程", planning: "排程中…", routes: "路线", unassigned: "未排入",
    select_box: "框选", selected: "已选", approve: "批准", needs_approval: "待批准（外包）",
    move_to: "移至", move: "移动", moved: "已移动，两条路线已重新计时", refused: "被拒绝",
    stop: "站", eta: "预计到达", debtor_local: "债务人当地时间", open_visits: "待访",
    due: "到期", overdue: "逾期", days_past_due: "逾期天数", amount: "金额", hazard: "危险标记",
    two_person: "需两人", legend: "图例", confirm: "确认", reject: "驳回", reason: "原因",
    on_shift: "在岗外访员", last_checkin: "最近签到", next_deadline: "下次签到期限", alerts: "警报",
    ack: "确认收到", resolve: "解除", trail: "轨迹", last_heard: "最后联系服务器", open_alerts: "未处理警报",
    level: "级别", raised: "发出", no_alerts: "没有警报", none: "无",
    late_entries: "补录联系记录", follow_up: "合规跟进", outcome_review: "结果复核", daily_reports: "外访员日报",
    download_csv: "下载 CSV", not_available: "该接口尚未提供", requests: "查找请求", new_request: "新建查找",
    case_id: "案件编号", legal_basis: "法律依据", contacts_file: "通讯录文件", calls_file: "通话记录文件",
    submit: "提交", progress: "进度", candidates: "候选号码", score: "分数", evidence: "依据",
    search: "搜索", addresses: "地址", phones: "电话", contacts: "联系人", contact_log: "联系记录",
    promises: "承诺还款", visits: "外访", masked: "（已脱敏）", refusals: "规则拒绝", violations: "违规",
    load: "加载", case_summary: "案件摘要", debtor: "债务人", timezone: "时区", tiles_offline: "底图不可用：显示数据范围",
    job: "任务", seconds_ago: "秒前", queue_hint: "输入案件编号查看其查找请求", distance: "距离", duration: "时长",
    confirmed: "已确认", rejected: "已驳回", proposed: "待定", now: "现在", result: "结果", party: "对象",
    channel: "方式", notes: "备注", when: "时间", overdue_by: "已超时", in: "剩余", sound_on: "声音已开启",
  },
  en: {
    login: "Log in", username: "Username", password: "Password", logout: "Log out", lang: "中文",
    map: "Map & plan", safety: "Safety board", review: "Review & reports", tracing: "Tracing queue", cases: "Cases",
    kind: "Kind", status: "Status", all: "All", district: "District", filter: "Filter", date: "Date",
    collectors: "Collectors", plan: "Plan", planning: "Planning…", routes: "Routes", unassigned: "Unassigned",
    select_box: "Box select", selected: "Selected", approve: "Approve", needs_approval: "Needs approval (outsourced)",
    move_to: "Move to", move: "Move", moved: "Moved; both routes re-timed", refused: "Refused",
    stop: "Stop", eta: "ETA", debtor_local: "debtor's local time", open_visits: "Open visits",
    due: "Due", overdue: "Overdue", days_past_due: "Days past due", amount: "Amount", hazard: "Hazard",
    two_person: "Two-person", legend: "Legend", confirm: "Confirm", reject: "Reject", reason: "Reason",
    on_shift: "On shift", last_checkin: "Last check-in", next_deadline: "Next deadline", alerts: "Alerts",
    ack: "Acknowledge", resolve: "Resolve", trail: "Trail", last_heard: "Last heard from server", open_alerts: "Open alerts",
    level: "Level", raised: "Raised", no_alerts: "No alerts", none: "None",
    late_entries: "Late contact entries", follow_up: "Compliance follow-up", outcome_review: "Outcome review",
    daily_reports: "Collectors' daily reports", download_csv: "Download CSV", not_available: "Not available in this API yet",
    requests: "Requests", new_request: "New request", case_id: "Case id", legal_basis: "Legal basis",
    contacts_file: "Contacts file", calls_file: "Calls file", submit: "Submit", progress: "Progress",
    candidates: "Candidates", score: "Score", evidence: "Evidence", search: "Search", addresses: "Addresses",
    phones: "Phones", contacts: "Contacts", contact_log: "Contact log", promises: "Promises", visits: "Visits",
    masked: "(masked)", refusals: "Rule refusals", violations: "Violations", load: "Load", case_summary: "Case summary",
    debtor: "Debtor", timezone: "Timezone", tiles_offline: "Base map unreachable: showing the data's extent",
    job: "Job", seconds_ago: "s ago", queue_hint: "Enter a case id to see its tracing requests", distance: "Distance",
    duration: "Duration", confirmed: "Confirmed", rejected: "Rejected", proposed: "Proposed", now: "now",
    result: "Result", party: "Party", channel: "Channel", notes: "Notes", when: "When", overdue_by: "overdue by",
    in: "in", sound_on: "Sound on",
  },
};

const VALUES = {
  "zh-CN": {
    confirm: "核实", locate: "寻址", broken_promise: "违约回访", requested: "已申请", scheduled: "待排程",
    assigned: "已分配", in_progress: "进行中", done: "完成", failed: "失败", cancelled: "已取消",
    needs_approval: "待批准", sos: "紧急求助", missed_checkin: "漏签到", system: "系统", open: "未处理",
    acknowledged: "已确认", resolved: "已解除", new_number: "新号码", kin: "亲属", associate: "关联人",
    queued: "排队中", running: "运行中", debtor_consent: "债务人同意", contract_performance: "履行合同",
    legal_obligation: "法定义务", court_order: "法院命令", shift_start: "上岗", arrived: "到达", left: "离开",
    ok: "平安", shift_end: "下岗", reachable: "可联系", semi_lost: "半失联", lost: "失联", home: "住址", work: "单位",
    other: "其他", parent: "父母", spouse: "配偶", sibling: "兄弟姐妹", child: "子女", friend: "朋友", colleague: "同事",
    no_lawful_window_on_date: "当日无合法时段", no_collectors: "没有外访员", nothing_to_plan: "无可排程",
    changed_during_planning: "排程期间已变更", capacity_exceeded: "超出每日上限", shift_exceeded: "超出班次",
    window_missed: "赶不上时间窗", skill_mismatch: "技能不符", crew_required: "需两人小组", stop_fixed: "已完成或进行中",
    same_collector: "同一外访员", route_changed: "路线已变，请重新排程", unassigned_by_solver: "排程未选入",
  },
  en: {},
};

let lang = localStorage.getItem("fieldtrace.lang") || "zh-CN";
export function language() { return lang; }
export function setLanguage(next) { lang = next; localStorage.setItem("fieldtrace.lang", next); document.documentElement.lang = next; }
export function t(key) { return STRINGS[lang][key] ?? STRINGS.en[key] ?? key; }
// Domain values (kinds, statuses): translated where known, else shown as sent.
export function tv(value) { return (VALUES[lang] && VALUES[lang][value]) || String(value ?? "").replaceAll("_", " "); }
