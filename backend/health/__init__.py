"""Health: GET /health, with the checks features register (e.g. safety's sweep watchdog)."""


def register(app) -> None:
    """Register the blueprint (called from backend.create_app)."""
    from backend.extensions import api
    from backend.health import routes

    api.register_blueprint(routes.blp)
