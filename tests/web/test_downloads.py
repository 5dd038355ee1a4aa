"""/downloads/ serves the wheels in EARTHBENCH_DOWNLOADS_DIR and nothing else; the
website shows `pip install <this instance>/downloads/<wheel>`."""

from __future__ import annotations

import pytest

CLIENT = "earthbench_client-0.2.0-py3-none-any.whl"
EVALUATOR = "earthbench_evaluator-0.2.0-py3-none-any.whl"


@pytest.fixture
def wheels(settings, tmp_path):
    settings.EARTHBENCH_DOWNLOADS_DIR = tmp_path
    for name in (CLIENT, EVALUATOR):
        (tmp_path / name).write_bytes(b"PK wheel " + name.encode())
    (tmp_path / "notes.txt").write_text("not served")
    return tmp_path


@pytest.mark.parametrize("page", ["/downloads/", "/getting-started/"])
def test_pages_show_pip_install_from_this_instance(client, wheels, page, transactional_db):
    body = client.get(page).content.decode()
    for name in (CLIENT, EVALUATOR):
        assert f'pip install "http://testserver/downloads/{name}"' in body
    assert "0.2.0" in body


def test_a_wheel_is_served(client, wheels, transactional_db):
    r = client.get(f"/downloads/{CLIENT}")
    assert r.status_code == 200 and b"".join(r.streaming_content) == b"PK wheel " + CLIENT.encode()


@pytest.mark.parametrize("name", ["notes.txt", "..%2Fsecret.whl", "nope-1.0-py3-none-any.whl"])
def test_nothing_else_is_served(client, wheels, name, transactional_db):
    assert client.get(f"/downloads/{name}").status_code == 404


def test_without_wheels_the_page_says_how_to_build_them(client, settings, tmp_path, transactional_db):
    settings.EARTHBENCH_DOWNLOADS_DIR = tmp_path / "none"
    body = client.get("/downloads/").content.decode()
    assert "manage.py build_downloads" in body and "pip install" not in body
