"""The console: the browser front end for dispatchers, supervisors and tracers, served at /console/.

The front end lives in the repository's `console/` folder (plain ES modules, Leaflet from npm,
vendored by `console/build.mjs`); this package only serves it, on the API's origin, with a strict
Content-Security-Policy, and redirects `/` there. It reads nothing: every figure on screen comes from
the API with the viewer's own bearer token.
"""


def register(app) -> None:
    """Register the console's blueprint and the `/` redirect (called from backend.create_app)."""
    from backend.console import routes

    app.register_blueprint(routes.bp)
    routes.build_headers(app)
