"""Address text → WGS-84 position with a precision: geocoders behind one interface, an offline
gazetteer of China's divisions, a database cache by normalised text and a per-provider rate limit.
Core floor: knows nothing of cases; cases/geocode.py drives it."""


def register(app) -> None:
    """Nothing to route: the cache table is registered through models, providers by configuration."""
