"""Background job rows, their runner, submit_job and the lost-job sweep."""


def register(app) -> None:
    """Register the blueprint (called from backend.create_app)."""
    from backend.extensions import api
    from backend.jobs import routes

    api.register_blueprint(routes.blp)
