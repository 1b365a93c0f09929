"""The audit trail and GET /audit."""


def register(app) -> None:
    """Register the blueprint (called from backend.create_app)."""
    from backend.audit import routes, service
    from backend.extensions import api
    from backend.signals import action_audited

    api.register_blueprint(routes.blp)
    action_audited.connect(service.record_signalled_action)
