import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_production_settings_pass_check_deploy(tmp_path):
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="earthbench.settings.production",
        DJANGO_SECRET_KEY="x" * 20 + "production-secret-key-for-the-check-0123456789",
        DJANGO_ALLOWED_HOSTS="earthbench.example.org",
        EARTHBENCH_VAR_DIR=str(tmp_path),
        PYTHONPATH=f"{REPO}:{REPO / 'platform'}",
    )
    r = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO, env=env, capture_output=True, text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no issues" in r.stdout


def test_production_refuses_default_secret(tmp_path):
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="earthbench.settings.production", EARTHBENCH_VAR_DIR=str(tmp_path))
    env.pop("DJANGO_SECRET_KEY", None)
    r = subprocess.run([sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True)
    assert r.returncode != 0 and "DJANGO_SECRET_KEY" in r.stderr
