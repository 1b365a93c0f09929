"""A short schemathesis run in the test command (bench/fuzz_api.py is the long one): every operation
with a few generated inputs (stateless), then chains of calls that feed one answer's ids into the next
request (stateful, over the links schemathesis finds in our OpenAPI document). No input may give a 5xx."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from backend.auth.models import Role

QUICK = settings(max_examples=2, deadline=None, derandomize=True, database=None,
                 phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture
def admin_headers(as_role, session):
    _, headers = as_role(Role.ADMIN)
    session.commit()
    return headers


def test_no_generated_input_gives_a_server_error(api_schema, admin_headers):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 30
    for operation in operations:
        strategy = st.one_of([operation.as_strategy(generation_mode=mode) for mode in GenerationMode])

        @QUICK
        @given(case=strategy)
        def call(case):
            case.call_and_validate(headers=admin_headers, checks=[not_a_server_error])

        call()


def test_chains_of_linked_calls_give_no_server_error(api_schema, admin_headers):
    machine = api_schema.as_state_machine()
    # Links schemathesis inferred from our responses and path parameters: POST /users -> GET /users/{id}, ...
    assert len(machine.bundles) > 10, "schemathesis found no links between our operations"

    class Chains(machine):
        def get_call_kwargs(self, case):
            return {"headers": admin_headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=[not_a_server_error], transport_kwargs=kwargs)

    Chains.run(settings=settings(max_examples=5, stateful_step_count=4, deadline=None, derandomize=True,
                                 database=None, suppress_health_check=list(HealthCheck)))
