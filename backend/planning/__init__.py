"""Route planning: open visits and collectors in, stored routes with ordered stops out."""


def register(app) -> None:
    """Register the blueprint; a released visit leaves its route, a closed one loses its pin (called from
    backend.create_app)."""
    from backend.extensions import api
    from backend.planning import notices, routes, service, store
    from backend.signals import job_finished, visit_closed, visit_released

    api.register_blueprint(routes.blp)
    visit_released.connect(store.release_visit)
    visit_closed.connect(service.drop_pin_of_closed_visit)
    job_finished.connect(notices.on_job_finished)
