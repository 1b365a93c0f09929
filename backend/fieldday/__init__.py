"""The field day as supervisors and dispatchers run it: reviewing doubtful reports from the door, each
collector's day in figures, and the day's operations that span features (absences, the day's map).
Stands on the planning floor: it reads visits, safety and planning and is read by nobody."""


def register(app) -> None:
    """Register the blueprint and the door-position receiver (called from backend.create_app)."""
    from backend.extensions import api
    from backend.fieldday import doors, routes
    from backend.signals import visit_outcome_recorded

    api.register_blueprint(routes.blp)
    visit_outcome_recorded.connect(doors.propose_door_position)
