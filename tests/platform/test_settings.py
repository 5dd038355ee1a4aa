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


def _email_settings(module: str, tmp_path, **extra) -> list[str]:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE=module, EARTHBENCH_VAR_DIR=str(tmp_path),
               DJANGO_SECRET_KEY="x" * 20 + "production-secret-key-for-the-check-0123456789",
               PYTHONPATH=f"{REPO}:{REPO / 'platform'}", **extra)
    code = ("from django.conf import settings as s; print(s.EMAIL_BACKEND); "
            "print(getattr(s, 'EMAIL_HOST', '')); print(getattr(s, 'EMAIL_HOST_USER', ''))")
    r = subprocess.run([sys.executable, "-c", "import django; django.setup(); " + code],
                       cwd=REPO, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.split("\n")[:3]


def test_password_reset_mail_goes_to_the_console_in_the_demo(tmp_path):
    backend, _, _ = _email_settings("earthbench.settings.dev", tmp_path)
    assert backend == "django.core.mail.backends.console.EmailBackend"


def test_password_reset_mail_uses_smtp_from_the_environment_in_production(tmp_path):
    backend, host, user = _email_settings(
        "earthbench.settings.production", tmp_path,
        EMAIL_HOST="smtp.mail.test", EMAIL_HOST_USER="earthbench",
    )
    assert backend == "django.core.mail.backends.smtp.EmailBackend"
    assert (host, user) == ("smtp.mail.test", "earthbench")
