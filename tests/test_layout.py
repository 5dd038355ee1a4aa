"""Guard: the repository layout must not shadow stdlib ``platform`` or the docker SDK."""

import importlib
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_platform_and_docker_dirs_have_no_init():
    assert (REPO / "platform").is_dir() and (REPO / "docker").is_dir()
    assert not (REPO / "platform" / "__init__.py").exists()
    assert not (REPO / "docker" / "__init__.py").exists()
    assert (REPO / "platform" / "earthbench" / "__init__.py").exists()


def test_stdlib_platform_not_shadowed_with_repo_on_path():
    # Run in a fresh interpreter with the repo root first on sys.path, as manage.py does.
    code = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[1] + '/platform'];"
        "import platform, uuid; assert hasattr(platform, 'python_version'), platform;"
        "print(platform.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(REPO)], capture_output=True, text=True, check=True
    ).stdout
    assert "platform.py" in out and str(REPO / "platform") not in out


def test_docker_sdk_not_shadowed():
    try:
        docker = importlib.import_module("docker")
    except ImportError:  # SDK absent: nothing else may claim the name either
        assert importlib.util.find_spec("docker") is None
        return
    assert hasattr(docker, "from_env"), docker.__file__
    assert str(REPO / "docker") not in (docker.__file__ or "")
