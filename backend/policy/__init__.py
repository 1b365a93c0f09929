"""Portfolios and every rule number; hours.py holds the lawful-hours decision every feature asks."""


def register(app) -> None:
    """Register the blueprint (called from backend.create_app)."""
    from backend.extensions import api
    from backend.policy import routes

    api.register_blueprint(routes.blp)
