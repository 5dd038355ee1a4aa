"""Property-based API testing from our own OpenAPI schema: no 5xx, responses
conform to the schema. Bounded example budget so it fits in CI."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from earthbench.accounts.services import token_create


def _load_schema():
    from django.core.wsgi import get_wsgi_application

    # The schema view needs no database, so it can be loaded at collection time.
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


schema = _load_schema()


@pytest.fixture
def auth_headers(user, eurosat):
    _, key = token_create(user=user, name="schemathesis")
    return {"Authorization": f"Token {key}"}


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_schema(case, auth_headers):
    case.call_and_validate(
        headers=auth_headers,
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )
