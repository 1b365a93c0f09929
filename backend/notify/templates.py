"""Message templates per locale (zh-CN and en). Texts carry who, where and how to acknowledge;
never a debt, never a lodging. The debtor's reminder names the creditor and the date only, so a
phone read by someone else discloses nothing."""
from __future__ import annotations

from collections.abc import Mapping

LOCALES = ("zh-CN", "en")
DEFAULT_LOCALE = "zh-CN"

TEMPLATES: dict[str, dict[str, str]] = {
    # Level 1: the collector's own reminder (never used under duress).
    "alert_collector": {
        "zh-CN": "【FieldTrace】您的安全签到已超时，请立即在应用中签到。",
        "en": "FieldTrace: your safety check-in is overdue. Please check in now in the app.",
    },
    "alert_staff": {
        "zh-CN": "【FieldTrace】{level_text}{kind_text}{duress_text}：{collector_name} {collector_phone}，"
                 "最后位置 {address}（{position_at}）。确认码 {ack_code} {ack_url}",
        "en": "FieldTrace {level_text}{kind_text}{duress_text}: {collector_name} {collector_phone}, last position "
              "{address} ({position_at}). Ack code {ack_code} {ack_url}",
    },
    "promise_reminder": {
        "zh-CN": "【{creditor}】{debtor_name}您好，温馨提示：您与我们约定的还款日为{due_date}。如已处理请忽略。",
        "en": "{creditor}: Dear {debtor_name}, a reminder of the payment date you agreed with us: {due_date}. "
              "Please ignore this if already done.",
    },
    "visit_requested": {
        "zh-CN": "【FieldTrace】新的上门请求 #{visit_id}（{area}），待安排。",
        "en": "FieldTrace: new visit request #{visit_id} ({area}) waiting to be scheduled.",
    },
    "visit_needs_approval": {
        "zh-CN": "【FieldTrace】外包上门请求 #{visit_id}（{area}）等待审批。",
        "en": "FieldTrace: outsourced visit request #{visit_id} ({area}) is waiting for approval.",
    },
    # To the collector whose route lost a visit because another collector's queued report closed it.
    "visit_taken_off_route": {
        "zh-CN": "【FieldTrace】上门任务 #{visit_id}（{area}）已由其他外访员完成，已从您的路线移除，请勿前往。",
        "en": "FieldTrace: visit #{visit_id} ({area}) was reported by another collector and is off your route; "
              "do not go there.",
    },
    # To a collector whose day changed in a re-plan: fetch the new route (its version says it is newer).
    "route_changed": {
        "zh-CN": "【FieldTrace】您{date}的路线已更新（第{version}版）：新增{added}个、移出{removed}个任务。请在应用中刷新路线。",
        "en": "FieldTrace: your route for {date} changed (version {version}): {added} visits added, {removed} taken "
              "off. Please refresh your route in the app.",
    },
    # To the dispatchers when a collector leaves and their visits go back to the pool.
    "visits_released_by_departure": {
        "zh-CN": "【FieldTrace】外访员 {collector_name} 已停用，{count} 个上门任务已退回待排程，请重新安排。",
        "en": "FieldTrace: collector {collector_name} was deactivated; {count} visits are back in the pool to plan.",
    },
    "plan_finished": {
        "zh-CN": "【FieldTrace】路线规划 #{job_id} 已完成：{summary}",
        "en": "FieldTrace: route plan #{job_id} finished: {summary}",
    },
    "plan_failed": {
        "zh-CN": "【FieldTrace】路线规划 #{job_id} 失败：{summary}",
        "en": "FieldTrace: route plan #{job_id} failed: {summary}",
    },
}

# Words the alert template fills in, per locale.
ALERT_WORDS = {
    "zh-CN": {"sos": "SOS求救", "missed_checkin": "签到超时", "system": "系统告警", "duress": "（胁迫）",
              "level": "[{level}级]", "unknown": "未知", "at_lodging": "在已申报的住宿处（地址见警报，查看将被审计）"},
    "en": {"sos": "SOS", "missed_checkin": "missed check-in", "system": "system alert", "duress": " (DURESS)",
           "level": "[L{level}] ", "unknown": "unknown",
           "at_lodging": "at their declared lodging (the address is in the alert; reading it is audited)"},
}


class _Blank(dict):
    def __missing__(self, key):
        return ""


def normalize_locale(locale: str | None) -> str:
    if locale and locale.lower().startswith("en"):
        return "en"
    return DEFAULT_LOCALE


def render(template: str, locale: str, params: Mapping) -> str:
    """The text of a template in a locale (zh-CN when the locale has none); missing values are blank."""
    texts = TEMPLATES[template]
    return texts.get(normalize_locale(locale), texts[DEFAULT_LOCALE]).format_map(
        _Blank({k: "" if v is None else v for k, v in params.items()})).strip()
