"""The platform fixtures (user, benchmark with installed demo data, API client)."""

from tests.platform.conftest import (  # noqa: F401  (fixtures, found by name)
    api,
    eurosat,
    perfect_csv,
    truth_rows,
    user,
)
