import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_production_settings_pass_check_deploy(tmp_path):
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="earthbench.settings.production",
        DJANGO_SECRET_KEY="x" * 20 + "production-secret-key-for-the-check-0123456789",
        DJANGO_ALLOWED_HOSTS="earthbench.example.org",
        EARTHBENCH_VAR_DIR=str(tmp_path),
        PYTHONPATH=f"{REPO}:{REPO / 'platform'}",
        CACHE_URL="redis://127.0.0.1:6379/1",  # not contacted by the check
    )
    r = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO, env=env, capture_output=True, text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no issues" in r.stdout
    # without a shared cache the deploy check warns (per-process lockout counters)
    env.pop("CACHE_URL")
    r = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO, env=env, capture_output=True, text=True,
    )
    assert r.returncode != 0 and "earthbench.W001" in r.stdout + r.stderr


def test_production_refuses_default_secret(tmp_path):
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="earthbench.settings.production", EARTHBENCH_VAR_DIR=str(tmp_path))
    env.pop("DJANGO_SECRET_KEY", None)
    r = subprocess.run([sys.executable, "manage.py", "check"], cwd=REPO, env=env, capture_output=True, text=True)
    assert r.returncode != 0 and "DJANGO_SECRET_KEY" in r.stderr


# ---------------------------------------------------------------- issue 16: fail closed


def _bare_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EARTHBENCH_"))}
    env.update(EARTHBENCH_VAR_DIR=str(tmp_path), PYTHONPATH=f"{REPO}:{REPO / 'platform'}", **extra)
    return env


ENTRY_POINTS = {
    "wsgi": [sys.executable, "-c", "import earthbench.wsgi"],
    "celery": [sys.executable, "-c", "from earthbench.celery import app; app.loader.import_default_modules()"],
    "manage.py": [sys.executable, "manage.py", "check"],
}


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_entry_points_fail_closed_without_settings(tmp_path, name):
    """No DJANGO_SETTINGS_MODULE: production, which refuses the missing secret."""
    r = subprocess.run(ENTRY_POINTS[name], cwd=REPO, env=_bare_env(tmp_path), capture_output=True, text=True)
    assert r.returncode != 0 and "DJANGO_SECRET_KEY" in r.stderr, r.stderr[-2000:]


@pytest.mark.parametrize(
    "module,debug_env,expected",
    [("dev", None, "False"), ("dev", "1", "True"), ("dev", "true", "False"),
     ("production", "1", "False"), ("test", None, "False")],
)
def test_debug_pages_only_with_django_debug_1(tmp_path, module, debug_env, expected):
    extra = {"DJANGO_SETTINGS_MODULE": f"earthbench.settings.{module}",
             "DJANGO_SECRET_KEY": "k" * 60}
    if debug_env is not None:
        extra["DJANGO_DEBUG"] = debug_env
    code = "import django; from django.conf import settings; django.setup(); print(settings.DEBUG)"
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=_bare_env(tmp_path, **extra),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == expected


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_compose_web_healthcheck_passes_under_production_settings(tmp_path):
    """gunicorn with the production settings, an ALLOWED_HOSTS that is not
    127.0.0.1 and the HTTPS redirect on; the compose file's own healthcheck
    command (port substituted) must exit 0."""
    import shutil
    import time

    import yaml

    compose = yaml.safe_load((REPO / "docker" / "compose.yaml").read_text())
    test = compose["services"]["web"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    port = _free_port()
    cmd = [c.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for c in test[1:]]
    cmd[0] = sys.executable if cmd[0] == "python" else cmd[0]
    env = _bare_env(tmp_path, DJANGO_SETTINGS_MODULE="earthbench.settings.production",
                    DJANGO_SECRET_KEY="s" * 60, DJANGO_ALLOWED_HOSTS="earthbench.example.org")
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    server = subprocess.Popen([gunicorn, "earthbench.wsgi:application", "--bind", f"127.0.0.1:{port}",
                              "--workers", "1"], cwd=REPO, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(120):
            r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
            if r.returncode == 0 or server.poll() is not None:
                break
            time.sleep(0.5)
        assert server.poll() is None, server.stderr.read().decode()[-2000:]
        assert r.returncode == 0, r.stderr[-2000:]
        # the rest of the site still redirects to https and checks the host
        import urllib.error
        import urllib.request

        with pytest.raises(urllib.error.HTTPError) as bad_host:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/benchmarks/", timeout=5)
        assert bad_host.value.code == 400
    finally:
        server.terminate()
        server.wait(timeout=30)


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
