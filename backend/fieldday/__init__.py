"""The field day as supervisors and dispatchers run it: reviewing doubtful reports from the door, each
collector's day in figures, and the day's operations that span features (absences, the day's map).
Stands on the planning floor: it reads visits, safety and planning and is read by nobody."""


def register(app) -> None:
    """Register the blueprint (called from backend.create_app)."""
    from backend.extensions import api
    from backend.fieldday import routes

    api.register_blueprint(routes.blp)
