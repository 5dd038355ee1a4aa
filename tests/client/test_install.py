"""A fresh machine with only the instance's URL installs the CLI and the scorer:
the wheels `manage.py build_downloads` puts under /downloads/, installed with the
`pip install` commands the website shows, into a new virtualenv, run outside the
repository."""

from __future__ import annotations

import html
import re
import subprocess
import sys
import sysconfig

import httpx
import pytest

from .conftest import BENCH, REPO

pytestmark = pytest.mark.slow(20)


def test_the_websites_pip_commands_install_working_tools(eb_server, tmp_path):
    downloads = eb_server.tmp / "var" / "downloads"  # the server's EARTHBENCH_DOWNLOADS_DIR
    build = subprocess.run(
        [sys.executable, "-m", "earthbench.downloads", "--dest", str(downloads)],
        cwd=REPO, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO / "platform")},
        capture_output=True, text=True, timeout=300,
    )
    assert build.returncode == 0, build.stderr
    assert not list(REPO.glob("evaluator/*.egg-info")) and not (REPO / "evaluator/build").exists()

    page = httpx.get(f"{eb_server.url}/getting-started/").text
    commands = [html.unescape(c) for c in re.findall(r'<code>(pip install "http[^"<]+")</code>', page)]
    assert len(commands) == 2, page
    assert all(f'"{eb_server.url}/downloads/' in c for c in commands)

    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    # No internet here: the tools' dependencies (httpx, numpy, ...) come from this
    # test's environment; the tools themselves only from the instance.
    (site,) = venv.glob("lib/python*/site-packages")
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}

    def sh(command: str) -> str:
        r = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout

    for command in commands:
        sh(command.replace("pip install", "pip install --no-deps --no-index", 1))
    where = sh("python -c 'import evaluator, earthbench_client as c; print(evaluator.__file__, c.__file__)'")
    assert where.count(str(site)) == 2, where  # the installed copies, not the checkout
    assert "classification" in sh("earthbench-evaluator kinds")
    assert "classification" in sh("python -m evaluator kinds")
    truth = eb_server.storage / "benchmarks" / BENCH / "private" / "truth.csv"
    scored = sh(f"python -m evaluator score --kind classification --predictions {truth} --truth {truth}")
    assert '"oa": 1.0' in scored
    env["EARTHBENCH_URL"] = eb_server.url
    assert BENCH in sh("earthbench benchmarks")
