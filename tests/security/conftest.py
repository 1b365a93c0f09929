"""Fixtures the security tests share with the features they probe."""
from __future__ import annotations

from tests.planning.conftest import fast_solver, plan  # noqa: F401  (shared fixtures)
from tests.safety.conftest import assigned_visit, checkin  # noqa: F401
from tests.tracing.conftest import (  # noqa: F401
    create_candidate,
    debtor_case,
    family_files,
    submit,
    tracer,
)
from tests.visits.conftest import make_visit  # noqa: F401
