"""The contact log and lawful contact: attempts, rules, promises, payments, status and triggers."""
from backend.sync.registry import register_sync_type


def register(app) -> None:
    """Register the blueprint (both route modules), attempts as an offline write, the visit-outcome receiver."""
    from backend.contacts import promise_routes, receivers, routes, submit  # noqa: F401  (promise_routes: views on routes.blp)
    from backend.extensions import api
    from backend.signals import visit_outcome_recorded

    api.register_blueprint(routes.blp)
    register_sync_type(submit.ATTEMPT)
    visit_outcome_recorded.connect(receivers.log_visit_outcome)
