"""Detection truth and predictions in any accepted format, into one
:class:`~evaluator.formats.boxes.Table` (formats: :mod:`~evaluator.formats.dota`,
:mod:`~evaluator.formats.coco`, :mod:`~evaluator.formats.voc_xml`)."""

from __future__ import annotations

import functools
import gc

from evaluator.errors import ValidationError
from evaluator.formats.boxes import Table, Truth
from evaluator.formats.coco import read_coco_instances, read_coco_results
from evaluator.formats.dota import read_dota_labeltxt, read_dota_results
from evaluator.formats.voc_xml import read_xml_truth
from evaluator.io import Source, preview


def _gc_paused(fn):
    """Run ``fn`` with the cyclic garbage collector paused. Parsing allocates
    many long-lived containers (JSON objects, token lists); in a worker holding
    hundreds of thousands of objects (Django, torch) they trigger full
    collections that cost more than the parse itself. Nothing here builds
    reference cycles, so pausing frees nothing late."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return wrapper


@_gc_paused
def read_truth(source: Source) -> Truth:
    files = source.files()
    jsons = [f for f in files if f.lower().endswith(".json")]
    if len(jsons) == 1 and len(files) == 1:
        return read_coco_instances(source, jsons[0])
    if any(f.lower().endswith(".txt") for f in files):
        return read_dota_labeltxt(source)
    if any(f.lower().endswith(".xml") for f in files):
        return read_xml_truth(source)
    raise ValidationError(
        f"{source.display}: expected a COCO instances .json, DOTA labelTxt .txt files "
        "or DIOR/HRSC .xml files"
    )


@_gc_paused
def read_predictions(source: Source, truth: Truth) -> Table:
    known = set(truth.ids)

    def resolve(name: str, where: str) -> str:
        if name in known:
            return name
        if name in truth.aliases:
            return truth.aliases[name]
        raise ValidationError(
            f"{where}: image {name!r} is not in the test set "
            f"({len(known)} images, e.g. {preview(truth.ids, 3)})"
        )

    files = source.files()
    if len(files) == 1 and files[0].lower().endswith(".json"):
        if truth.categories is None:
            raise ValidationError(
                f"{source.display}: COCO results need COCO ground truth (category ids); "
                "submit DOTA Task1_<class>.txt files for this benchmark"
            )
        return read_coco_results(source, files[0], truth.categories, resolve)
    return read_dota_results(source, resolve)
