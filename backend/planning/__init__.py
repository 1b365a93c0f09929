"""Route planning: open visits and collectors in, stored routes with ordered stops out."""


def register(app) -> None:
    """Register the blueprint; a released visit leaves its route (called from backend.create_app)."""
    from backend.extensions import api
    from backend.planning import notices, routes, store
    from backend.signals import job_finished, visit_released

    api.register_blueprint(routes.blp)
    visit_released.connect(store.release_visit)
    job_finished.connect(notices.on_job_finished)
