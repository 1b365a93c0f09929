"""Visits: requests, assignment, outcomes from the door and the hazard flags they raise. The floor that
contacts, safety and planning stand on: it imports none of them; they react to its signals."""
from backend.sync.registry import register_sync_type


def register(app) -> None:
    """Register the blueprint, the outcome as an offline write, the hazard receiver (from create_app)."""
    from backend.extensions import api
    from backend.signals import address_moved, user_deactivated, visit_outcome_recorded
    from backend.visits import absences, hazards, history, moves, routes, sync

    api.register_blueprint(routes.blp)
    history.track_assignments()
    register_sync_type(sync.OUTCOME)
    visit_outcome_recorded.connect(hazards.flag_outcome_hazards)
    address_moved.connect(moves.retarget_open_visits)
    user_deactivated.connect(absences.release_deactivated)
