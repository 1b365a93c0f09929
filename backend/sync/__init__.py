"""One door for offline writes: what a phone sends directly or queues for `POST /sync`.

Features register each event type explicitly from their `register(app)` as a SyncType (type, scope,
schema, roles, apply); the endpoint of the same write calls the same `apply` through `submit`, and
both store it once per Idempotency-Key with one wrapper (`once_per_key`, on backend.idempotency).
"""


def register(app) -> None:
    """Register the blueprint (called from backend.create_app)."""
    from backend.extensions import api
    from backend.sync import routes

    api.register_blueprint(routes.blp)
