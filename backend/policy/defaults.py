"""Every rule number in the product, with its default. No rule number is a literal elsewhere.

A portfolio (the creditor that placed the cases) picks a profile and may override any key:
agencies follow the placing creditor's rules where they differ. Profiles are data, not branches.
"""
from __future__ import annotations

DEFAULTS: dict[str, object] = {
    # Contact compliance (GB/T 45251-2025 and the 2026 banking association guidelines).
    "contact.quiet_start": "22:00",          # no calls or visits from this local time...
    "contact.quiet_end": "08:00",            # ...until this local time of the debtor
    "contact.third_party_unanswered_per_day": 6,
    "contact.third_party_unanswered_per_hour": 2,
    "contact.debtor_answered_calls_per_day": 3,
    "contact.debtor_calls_per_7_days": 0,    # 0 = no rolling weekly cap
    "contact.quiet_days_after_conversation": 0,
    "contact.third_party_max_contacts": 0,   # 0 = no lifetime cap per third party
    "contact.third_party_only_when_unreachable": True,
    "contact.spouse_is_debtor": False,
    "contact.lost_after_days": 3,
    "contact.unreachable_after_unanswered": 2,  # consecutive unanswered debtor attempts -> semi_lost
    "contact.followup_reachable_per_week": 3,
    "contact.followup_lost_per_month": 4,
    "contact.promise_reminder_working_days": 1,
    "contact.ignored_reminders_for_visit": 3,
    "contact.quiet_hours_channels": ["call", "visit"],      # channels the quiet hours apply to
    "contact.capped_channels": ["call", "sms"],              # channels the call caps count
    "contact.reminder_channels": ["call", "sms", "letter"],  # unanswered ones are ignored reminders
    "contact.guarantor_is_obligor": True,    # a guarantor is liable: treated as the debtor, not a third party
    "contact.working_weekdays": [1, 2, 3, 4, 5],  # ISO weekdays; promise reminders skip the others
    "contact.future_skew_minutes": 5,        # a started_at further ahead than this is refused (client clock)
    # Visits and triggers.
    "visits.due_days": 3,
    "visits.outsource_distance_m": 30_000,
    "visits.trigger_lost_days": 3,
    "visits.trigger_days_past_due": 20,
    "visits.geofence_m": 100,
    "visits.geofence_accuracy_cap_m": 250,
    "visits.implausible_speed_kmh": 150,
    "visits.stale_fix_minutes": 30,
    "visits.sync_max_events": 500,            # events in one POST /sync batch
    # Places: a collector's fix at the door at least this accurate proposes the address's position.
    "geocoding.proposal_accuracy_m": 30,
    # A fix this close to the collector's home, a place they declared or a lodging check-in is never a door.
    "geocoding.proposal_private_radius_m": 300,
    "visits.backdate_tolerance_minutes": 10,  # phone clocks drift: a report this much before assignment is not backdated
    # The debtor's country: public holidays and make-up working days (China's 调休) for due dates and
    # working-day reminders (backend/policy/calendar.py).
    "calendar.country": "CN",
    # Route planning.
    "routing.detour_factor": 1.3,
    "routing.speed_kmh": 25,                  # scooter/car mix in city traffic
    "routing.walk_speed_kmh": 4.5,
    "routing.service_minutes": 20,
    "routing.sync_max_visits": 200,           # plans above this run as a job
    "routing.time_limit_s": 30,
    "routing.sync_time_limit_s": 5,           # solver budget when the plan answers at once
    "routing.max_time_limit_s": 600,          # the most solver time a dispatcher may ask for
    "routing.move_cost_m": 3000,              # a re-plan moves a visit only to save more driving than this
    "routing.region_max_visits": 2000,        # a larger day is split into regions, one job each
    "routing.priority_amount_scale": 5000,    # arrears worth one more unit of log10 weight
    "routing.priority_dpd_scale": 90,         # days past due that double a visit's weight
    # Field safety.
    "safety.visit_checkin_minutes": 45,
    "safety.hazard_visit_checkin_minutes": 20,
    "safety.lodging_curfew": "22:30",
    "safety.missed_checkin_grace_minutes": 5,
    "safety.escalation_minutes": [5, 10, 15],
    "safety.sweep_interval_s": 30,
    "safety.watchdog_missed_sweeps": 3,
    "safety.lodging_near_visit_m": 1000,
    "safety.lodging_reuse_m": 200,
    "safety.lodging_lookahead_days": 3,
    "safety.hazard_flag_days": 180,
    "safety.shift_checkin_minutes": 120,     # between visits, a check-in at least this often
    "safety.max_next_checkin_hours": 12,     # longest next_checkin_by a phone may ask for
    # Notifications (backend/notify) and who hears of a safety alert at each level.
    "notify.max_attempts": 5,                # then the message is failed (an alert's raises the next level)
    "notify.retry_backoff_s": [5, 30, 120, 600],  # wait before attempt 2, 3, 4...; the last repeats
    "notify.sending_stale_s": 120,           # a row `sending` this long lost its worker: failed, never resent
    "notify.alert_channels_level_1": ["push", "sms"],   # the collector
    "notify.alert_channels_level_2": ["push", "sms"],   # the on-duty dispatchers
    "notify.alert_channels_level_3": ["sms", "voice"],  # the supervisors
    "notify.level1_sms_delay_s": 60,         # the collector's SMS follows the push unless they check in
    "notify.ack_link_ttl_hours": 24,         # a signed acknowledgement link works this long
    "notify.reminders_in_lawful_hours": True,  # promise-reminder SMS keep the quiet hours whatever the channels
    "notify.debtor_locale": "zh-CN",         # the language of messages to debtors (zh-CN or en)
    "safety.morning_checkin": "08:30",       # after a lodging check-in, the rest ends at this local time...
    "safety.max_rest_hours": 14,             # ...or after this many hours, whichever comes first
    "safety.lodging_recent_visit_days": 7,   # a lodging near an address visited this recently is warned about
    # Skip tracing.
    "tracing.max_upload_bytes": 50 * 1024 * 1024,
    "tracing.max_rows": 2_000_000,
    "tracing.raw_retention_days": 0,
    # Lawful bases a lookup may cite (codes from LEGAL_BASES below). PIPL art. 13 has no legitimate-interest
    # basis: under the Chinese default only consent, the loan contract, a legal duty or a court order.
    "tracing.legal_bases": ["debtor_consent", "contract_performance", "legal_obligation", "court_order"],
    # Proposed candidates nobody confirmed or rejected in this many days are purged (confirmed ones
    # became the case's numbers; these are third parties' numbers nobody decided to keep).
    "tracing.unreviewed_retention_days": 30,
    # A collector reads a case's third-party numbers while holding an open visit there and this many
    # days after it ends (a follow-up call), then no longer.
    "contacts.collector_access_days": 7,
    # Case intake.
    "cases.import_max_rows": 50_000,
}

# Named rule sets a portfolio can select; each lists only what differs from DEFAULTS.
PROFILES: dict[str, dict[str, object]] = {
    "cn_default": {},
    # FDCPA / Regulation F: 08:00-21:00 local; 7 calls in 7 days per debt, none for 7 days after
    # a conversation; the spouse counts as the consumer; a third party once, for location only.
    "us_fdcpa": {
        "contact.quiet_start": "21:00",
        "contact.quiet_end": "08:00",
        "contact.debtor_calls_per_7_days": 7,
        "contact.quiet_days_after_conversation": 7,
        "contact.debtor_answered_calls_per_day": 0,
        "contact.third_party_max_contacts": 1,
        "contact.third_party_unanswered_per_day": 1,
        "contact.third_party_unanswered_per_hour": 1,
        "contact.spouse_is_debtor": True,
        "contact.quiet_hours_channels": ["call", "sms", "visit"],  # Reg F: electronic messages too
        "contact.capped_channels": ["call"],                       # the 7-in-7 counts telephone calls
        # GLBA/FCRA: skip tracing a consumer for collection is a permissible purpose of its own.
        "tracing.legal_bases": ["debtor_consent", "fcra_permissible_purpose", "glba_enforcement",
                                "court_order", "legal_obligation"],
        "notify.debtor_locale": "en",
        "calendar.country": "US",
    },
}
DEFAULT_PROFILE = "cn_default"

# Every lawful basis a profile may list for a tracing lookup, with what it means (shown to the tracer and
# written on each candidate's evidence). A profile lists the ones its law allows.
LEGAL_BASES: dict[str, str] = {
    "debtor_consent": "the debtor's consent (PIPL art. 13(1); GDPR art. 6(1)(a))",
    "contract_performance": "performance of the loan contract the debtor is party to (PIPL art. 13(2))",
    "legal_obligation": "a legal duty or obligation of the creditor (PIPL art. 13(3))",
    "court_order": "a court order or enforcement ruling",
    "relative_consent": "the consent of the relative whose records were uploaded",
    "contract_clause": "a clause of the loan contract allowing contact tracing",
    "legitimate_interest": "the creditor's legitimate interest (GDPR art. 6(1)(f); not a basis under PIPL)",
    "fcra_permissible_purpose": "collection of an account, a permissible purpose (FCRA §604(a)(3)(A))",
    "glba_enforcement": "to enforce a transaction the consumer requested (GLBA §502(e)(1))",
}
# Settings whose values must come from a fixed vocabulary.
CHOICES: dict[str, dict[str, str]] = {"tracing.legal_bases": LEGAL_BASES}
