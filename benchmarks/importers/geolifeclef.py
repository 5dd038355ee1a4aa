"""GeoLifeCLEF / GeoPlant presence-absence surveys → species set per site.

Layout: a presence-absence occurrence CSV, one row per (site, species):
GLC23 ``Presence_Absences_occurrences/Presences_Absences_train.csv`` (``;``,
site column ``patchID``), GLC24/GeoPlant ``GLC24_PA_metadata_train.csv``
(``,``, site ``surveyId``, ``speciesId``; the habitat variant has ``habitatId``).
``pa_csv`` names the file (else the first ``*Presence*Absence*.csv`` /
``*PA_metadata*train*.csv`` found); ``site_column`` / ``species_column`` override
the auto-detected columns; the delimiter is sniffed. The CSV is streamed row by
row. The PA test labels of the competitions are hidden, so the test sites are a
seeded fraction of the sites (``test_fraction``, ``split_seed``), or the sites
of ``test_csv`` when it carries species.

Truth: ``truth.csv`` ``id,species`` (space-separated species ids). Public:
``train_pa.csv`` (id,species), ``test_sites.csv`` (id,lon,lat), the site's RGB
patch ``patches/<id>.jpeg`` when the GLC23 ``SatelliteImages/rgb/CD/AB/<id>.jpeg``
tree is present, ``sample_submission.csv``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from benchmarks.generators import DemoData
from benchmarks.importers._common import (
    ImporterError,
    place,
    rel,
    result,
    seeded_test,
    split_params,
)
from benchmarks.writers import write_csv, write_readme

SITE_COLS = ("surveyId", "patchID", "siteId", "plotID")
SPECIES_COLS = ("speciesId", "habitatId", "species")


def _find_csv(source: Path, params: dict) -> Path:
    if params.get("pa_csv"):
        p = source / params["pa_csv"]
        if not p.is_file():
            raise ImporterError(f"{params['pa_csv']}: file not found")
        return p
    for pat in (
        "*Presence*Absence*.csv",
        "*Presences_Absences*.csv",
        "*PA_metadata*train*.csv",
        "*PA*train*.csv",
    ):
        hits = sorted(source.rglob(pat))
        if hits:
            return hits[0]
    raise ImporterError(
        f"{source}: no presence-absence CSV (Presences_Absences_train.csv or GLC24_PA_metadata_train.csv)"
    )


def _read_sites(path: Path, source: Path, params: dict):
    with open(path, newline="", encoding="utf-8") as fh:
        head = fh.readline()
        delim = ";" if head.count(";") > head.count(",") else ","
        fh.seek(0)
        reader = csv.DictReader(fh, delimiter=delim)
        cols = reader.fieldnames or []
        site = params.get("site_column") or next(
            (c for c in SITE_COLS if c in cols), None
        )
        spec = params.get("species_column") or next(
            (c for c in SPECIES_COLS if c in cols), None
        )
        if site not in cols or spec not in cols:
            raise ImporterError(
                f"{rel(path, source)}: needs a site column ({'/'.join(SITE_COLS)}) and a species "
                f"column ({'/'.join(SPECIES_COLS)}); found {cols[:12]}"
            )
        sites: dict[str, dict] = {}
        for lineno, r in enumerate(reader, 2):
            sid, sp = (r.get(site) or "").strip(), (r.get(spec) or "").strip()
            if not sid:
                raise ImporterError(f"{rel(path, source)} line {lineno}: empty {site}")
            if sid.endswith(".0"):
                sid = sid[:-2]
            if sp.endswith(".0"):
                sp = sp[:-2]
            entry = sites.setdefault(
                sid, {"species": {}, "lon": r.get("lon", ""), "lat": r.get("lat", "")}
            )
            if sp:
                entry["species"][sp] = None  # ordered set
    if not sites:
        raise ImporterError(f"{rel(path, source)}: no rows")
    return sites


def import_dataset(*, source: Path, out_dir: Path, params: dict) -> DemoData:
    path = _find_csv(source, params)
    sites = _read_sites(path, source, params)
    if params.get("test_csv"):
        test_sites = _read_sites(source / params["test_csv"], source, params)
        train_sites = sites
    else:
        frac, seed = split_params(params)
        ids = seeded_test(sites, frac, seed)
        test_sites = {s: sites[s] for s in sorted(ids)}
        train_sites = {s: v for s, v in sites.items() if s not in ids}
    public = out_dir / "public"
    write_csv(
        public / "train_pa.csv",
        ["id", "species"],
        ((s, " ".join(v["species"])) for s, v in train_sites.items()),
    )
    write_csv(
        public / "test_sites.csv",
        ["id", "lon", "lat"],
        ((s, v["lon"], v["lat"]) for s, v in test_sites.items()),
    )
    write_csv(
        public / "sample_submission.csv",
        ["id", "predicted"],
        ((s, "") for s in test_sites),
    )
    rgb = next(iter(sorted(source.rglob("SatelliteImages/rgb"))), None)
    if rgb is not None:
        for s in list(test_sites) + list(train_sites):
            p = rgb / s[-2:] / s[-4:-2] / f"{s}.jpeg"
            if p.is_file():
                place(p, public / "patches" / f"{s}.jpeg")
    write_readme(
        public,
        """
Species presence prediction per site. train_pa.csv: species observed at the training
sites (space-separated ids); test_sites.csv: the test sites with coordinates;
patches/<id>.jpeg: satellite patches where available.
Submit a CSV id,predicted with the space-separated species ids you predict present.
""",
    )
    truth = write_csv(
        out_dir / "private" / "truth.csv",
        ["id", "species"],
        ((s, " ".join(v["species"])) for s, v in test_sites.items()),
    )
    return result(public, truth, list(test_sites))
