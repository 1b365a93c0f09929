"""Field safety: check-ins, SOS, sealed lodgings, alerts, the sweep and its watchdog."""
from backend.health.checks import register_check
from backend.signals import notification_failed
from backend.sync.registry import register_sync_type
from backend.visits.whereabouts import register_report_source


def register(app) -> None:
    """Register the blueprint, the safety events as offline writes, the sweep's health check and the
    check-ins as position reports visit outcomes weigh (called from backend.create_app)."""
    from backend.extensions import api
    from backend.safety import hazards, notices, routes, service, sync, watchdog
    from backend.signals import visit_outcome_recorded

    api.register_blueprint(routes.blp)
    for sync_type in sync.SYNC_TYPES:
        register_sync_type(sync_type)
    register_check("safety_sweep", watchdog.health_check)
    register_report_source("previous_checkin", service.previous_checkin)
    notification_failed.connect(notices.on_notification_failed)
    visit_outcome_recorded.connect(hazards.react_to_hazardous_outcome)
