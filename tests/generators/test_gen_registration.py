"""Demo generator: registration (3DMatch layout)."""

import zipfile

import numpy as np

import evaluator
from benchmarks.generators import registration as gen

KIND, PARAMS = "registration", {"n_scenes": 2, "n_fragments": 5, "points": 800}


def _zip_logs(path, truth_dir, transform=None):
    with zipfile.ZipFile(path, "w") as zf:
        for scene in sorted(p for p in truth_dir.iterdir() if p.is_dir()):
            text = (scene / "gt.log").read_text()
            if transform is not None:
                text = transform(text)
            zf.writestr(f"{scene.name}.log", text)
    return path


def _identity(text):
    lines = text.splitlines()
    out = []
    for k in range(0, len(lines), 5):
        out.append(lines[k])
        out += ["\t".join("1" if r == c else "0" for c in range(4)) for r in range(4)]
    return "\n".join(out) + "\n"


def test_registration_demo(tmp_path, digest):
    a = gen.generate(params=PARAMS, out_dir=tmp_path / "a", seed=3)
    gen.generate(params=PARAMS, out_dir=tmp_path / "b", seed=3)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    ev = evaluator.evaluate(KIND, a.baseline_path, a.truth_path, {})
    assert sorted(ev.sample_ids) == sorted(a.sample_ids)
    base = evaluator.score(KIND, a.baseline_path, a.truth_path, {})["rr"]
    perfect = _zip_logs(tmp_path / "gt.zip", a.truth_path)
    assert evaluator.score(KIND, perfect, a.truth_path, {})["rr"] == 1.0
    chance = evaluator.score(
        KIND, _zip_logs(tmp_path / "id.zip", a.truth_path, _identity), a.truth_path, {}
    )
    assert chance["rr"] < base < 1.0
    # Fragments are point arrays and the truth maps fragment j into fragment i.
    frag = np.load(next((a.public_dir / "fragments").rglob("cloud_bin_0.npy")))
    assert frag.dtype == np.float32 and frag.shape[1] == 3
