from tests.platform.conftest import (  # noqa: F401
    api,
    eurosat,
    other_user,
    perfect_csv,
    truth_rows,
    user,
)
