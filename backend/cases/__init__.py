"""Debtor cases, addresses, phones and contacts; import."""


def register(app) -> None:
    """Register the blueprint (called from backend.create_app)."""
    from backend.cases import routes
    from backend.extensions import api

    api.register_blueprint(routes.blp)
