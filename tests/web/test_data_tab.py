"""The data tab lists the public files with their sizes."""

from __future__ import annotations

import re

from earthbench import storage

BASE = "/benchmarks/eurosat-classification-v1"


def test_data_tab_lists_files_with_sizes(client, eurosat):
    public = storage.public_dir(eurosat.slug)
    files = [p for p in public.rglob("*") if p.is_file()]
    tests = [p for p in files if p.relative_to(public).parts[0] == "test"]
    html = client.get(f"{BASE}/data/").content.decode()
    assert f"{len(files)} files" in html
    zip_size = storage.public_zip(eurosat.slug).stat().st_size
    assert re.search(r"Download public inputs \(ZIP, [\d.,]+\xa0[KM]B\)", html), zip_size
    row = re.search(r'<tr class="folder"><td><code>test/</code>.*?</tr>', html, re.S).group(0)
    assert f'<td class="num">{len(tests)}</td>' in row and "(first 8 shown)" in row
    readme = public / "README.txt"
    assert "<code class=\"wrap\">README.txt</code>" in html
    assert readme.stat().st_size > 0
    shown = re.findall(r'<code class="wrap">(test/[^<]+)</code>', html)
    assert len(shown) == 8 and shown == sorted(shown)
