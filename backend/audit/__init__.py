"""The audit trail and GET /audit."""


def register(app) -> None:
    """Register the blueprint (called from backend.create_app)."""
    from backend.audit import routes
    from backend.extensions import api

    api.register_blueprint(routes.blp)
