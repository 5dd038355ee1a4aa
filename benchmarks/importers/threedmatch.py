"""3DMatch / 3DLoMatch point-cloud registration benchmarks.

Layout: scene folders ``<benchmark>/<scene>/gt.log`` + ``gt.info`` (as in the
3DMatch toolbox and Predator's ``configs/benchmarks/{3DMatch,3DLoMatch}/``),
anywhere under the source; ``benchmarks`` (folder names such as ``3DMatch``,
``3DLoMatch``, matched anywhere in the path) restricts which ones are imported
(the ``3dmatch`` / ``3dlomatch`` importers set it). Optional fragments: ``params.fragments`` is a
folder ``<scene>/cloud_bin_<i>.ply`` linked into ``public/fragments/``.

Truth: ``truth/<benchmark>/<scene>/{gt.log,gt.info}`` copied as they are; the
scene key is that relative path. Sample ids: ``<scene key>/<i>_<j>`` for every
gt.log pair with ``j > i + 1`` (the evaluator's ``skip_consecutive``, default;
``skip_consecutive: false`` keeps all). Public: ``pairs/<scene key>.txt`` (``i j n``
lines) and README.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.generators import DemoData
from benchmarks.importers._common import ImporterError, place, rel, result
from benchmarks.writers import write_readme


def _pairs(gt_log: Path, source: Path) -> list[tuple[int, int, int]]:
    lines = [
        ln.split()
        for ln in gt_log.read_text(encoding="utf-8").splitlines()
        if ln.strip()
    ]
    if len(lines) % 5:
        raise ImporterError(
            f"{rel(gt_log, source)}: {len(lines)} lines is not a multiple of 5 (header + 4x4)"
        )
    out = []
    for k in range(0, len(lines), 5):
        head = lines[k]
        try:
            i, j, n = (int(x) for x in head[:3])
        except ValueError:
            raise ImporterError(
                f"{rel(gt_log, source)} line {k + 1}: expected 'i j n'"
            ) from None
        out.append((i, j, n))
    return out


def import_dataset(*, source: Path, out_dir: Path, params: dict) -> DemoData:
    wanted = params.get("benchmarks")
    logs = sorted(source.rglob("gt.log"))
    if not logs:
        raise ImporterError(f"{source}: no <scene>/gt.log files")
    if wanted:
        # A benchmark folder (3DMatch/, 3DLoMatch/) anywhere in the path selects it;
        # a source with scene folders only (no benchmark level) is taken whole.
        known = {"3dmatch", "3dlomatch"}
        tagged = [
            p for p in logs if known & {x.lower() for x in p.relative_to(source).parts}
        ]
        if tagged:
            logs = [p for p in logs if set(wanted) & set(p.relative_to(source).parts)]
            if not logs:
                raise ImporterError(
                    f"{source}: no gt.log under a folder named {' or '.join(wanted)}"
                )
    skip = bool(params.get("skip_consecutive", True))
    public, truth = out_dir / "public", out_dir / "private" / "truth"
    frag_root = source / params["fragments"] if params.get("fragments") else None
    ids = []
    for log in logs:
        info = log.with_name("gt.info")
        if not info.is_file():
            raise ImporterError(f"{rel(info, source)}: file not found (next to gt.log)")
        key = log.parent.relative_to(source).as_posix()
        place(log, truth / key / "gt.log")
        place(info, truth / key / "gt.info")
        pairs = _pairs(log, source)
        (public / "pairs" / key).parent.mkdir(parents=True, exist_ok=True)
        (public / "pairs" / f"{key}.txt").write_text(
            "".join(f"{i} {j} {n}\n" for i, j, n in pairs), encoding="utf-8"
        )
        ids += [f"{key}/{i}_{j}" for i, j, _ in pairs if not skip or j > i + 1]
        if frag_root is not None and (frag_root / log.parent.name).is_dir():
            for f in sorted((frag_root / log.parent.name).iterdir()):
                place(f, public / "fragments" / log.parent.name / f.name)
    write_readme(
        public,
        """
Point-cloud registration (3DMatch protocol). pairs/<benchmark>/<scene>.txt lists the
fragment pairs (i j n) to register; fragments/ holds the point clouds when provided.
Submit a ZIP of <benchmark>/<scene>.log files in the 3DMatch .log format (header
'i j n' then the 4x4 transform), one block per listed pair.
""",
    )
    return result(public, truth, ids)
