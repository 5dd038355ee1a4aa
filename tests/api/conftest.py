from tests.platform.conftest import api, eurosat, other_user, perfect_csv, truth_rows, user  # noqa: F401
