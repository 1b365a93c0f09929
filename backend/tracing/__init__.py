"""Skip tracing: requests, uploads, jobs and review (feature) around the database-free engine (tracing/engine)."""


def register(app) -> None:
    """Register the blueprint (called from backend.create_app)."""
    from backend.extensions import api
    from backend.tracing import routes

    api.register_blueprint(routes.blp)
