"""Users, roles, passwords and bearer tokens."""


def register(app) -> None:
    """Register the blueprint (called from backend.create_app)."""
    from backend.auth import routes
    from backend.extensions import api

    api.register_blueprint(routes.blp)
