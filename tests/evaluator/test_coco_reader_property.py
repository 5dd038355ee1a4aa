"""The fast (whole-list) and the item-by-item COCO readers agree.

For any list of annotations or detections, valid or not: when the
item-by-item reader raises, the fast one declines (returns None, so the
item-by-item message is the one shown); when the item-by-item reader accepts,
the fast one declines or returns the same table (every column, every row's
position in messages). ``read_coco_results`` / ``read_coco_instances`` then
give the same result or the same error whichever path ran.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluator.errors import ValidationError
from evaluator.formats import coco

CATEGORIES = {1: "plane", 2: "ship", 5: "harbor"}
KNOWN = {"1", "2", "3", "img7"}
ALIASES = {"p1": "1"}
FN = "results.json"

PROPERTY = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,  # reproducible; a failure prints its example
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

finite = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)
number = st.one_of(
    finite, st.integers(-1000, 1000), st.sampled_from([math.nan, math.inf, -math.inf])
)
odd = st.one_of(st.none(), st.booleans(), st.text(max_size=3), st.just([]), st.just({}))
valid_box = st.tuples(finite, finite, st.floats(0, 500), st.floats(0, 500)).map(list)
negative = st.floats(-500, -1e-3)
box = st.one_of(
    st.tuples(finite, finite, negative, finite).map(list),
    st.tuples(finite, finite, finite, negative).map(list),
    valid_box,
    st.lists(st.one_of(number, odd), min_size=0, max_size=5),
    odd,
)
poly = st.one_of(
    st.lists(finite, min_size=8, max_size=8),
    st.lists(finite, min_size=8, max_size=8),
    st.lists(st.one_of(number, odd), min_size=7, max_size=9),
    odd,
)
image_id = st.one_of(
    st.sampled_from([1, 2, 3, "1", "img7", "p1"]),
    st.sampled_from([99, "nope", None, True, 1.0, 2.5, [1]]),
)
category_id = st.one_of(
    st.sampled_from([1, 2, 5]), st.sampled_from([3, "1", None, True, 1.0, [1], {}])
)
score = st.one_of(finite, finite, number, odd)
flag = st.one_of(st.sampled_from([0, 1, 0, 1, True, False]), odd, st.integers(-2, 2))
segmentation = st.one_of(poly.map(lambda p: [p]), odd, poly)


good_image = st.sampled_from([1, 2, 3, "1", "img7", "p1"])
good_category = st.sampled_from([1, 2, 5])
good_poly = st.lists(finite, min_size=8, max_size=8)
good_detection = st.one_of(
    st.fixed_dictionaries(
        {"image_id": good_image, "category_id": good_category, "bbox": valid_box,
         "score": finite}
    ),
    st.fixed_dictionaries(
        {"image_id": good_image, "category_id": good_category, "poly": good_poly,
         "score": finite}
    ),
    st.fixed_dictionaries(
        {"image_id": good_image, "category_id": good_category, "bbox": valid_box,
         "poly": good_poly, "score": finite}
    ),
)
good_annotation = st.fixed_dictionaries(
    {"image_id": st.sampled_from([1, 2, 3, "1", "img7"]), "category_id": good_category, "bbox": valid_box},
    optional={
        "segmentation": st.one_of(good_poly.map(lambda p: [p]), st.just([])),
        "iscrowd": st.sampled_from([0, 1, True, False]),
    },
)
BAD_VALUES = {
    "image_id": image_id,
    "category_id": category_id,
    "bbox": box,
    "poly": poly,
    "score": score,
    "segmentation": segmentation,
    "iscrowd": flag,
}


@st.composite
def damaged(draw, good, keys):
    """A list of good items; some lists get one or two items damaged (a key
    removed or given an odd value, or the item replaced by a non-object)."""
    items = draw(st.lists(good, max_size=8))
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2]))):
        if not items:
            break
        k = draw(st.integers(0, len(items) - 1))
        how = draw(st.sampled_from(["value", "value", "value", "drop", "object"]))
        if how == "object":
            items[k] = draw(odd)
            continue
        if not isinstance(items[k], dict):
            continue
        key = draw(st.sampled_from(keys))
        if how == "drop":
            items[k].pop(key, None)
        else:
            items[k][key] = draw(BAD_VALUES[key])
    return items


detections = damaged(good_detection, ["image_id", "category_id", "bbox", "poly", "score"])
annotations = damaged(
    good_annotation, ["image_id", "category_id", "bbox", "segmentation", "iscrowd"]
)


def resolve(name: str, where: str) -> str:
    if name in KNOWN:
        return name
    if name in ALIASES:
        return ALIASES[name]
    raise ValidationError(f"{where}: image {name!r} is not in the test set")


def _same_table(a, b) -> None:
    assert len(a) == len(b)
    assert a.image == b.image and a.label == b.label
    for col in ("score", "difficult", "crowd"):
        np.testing.assert_array_equal(a.column(col), b.column(col))
    for box_kind in ("hbb", "obb"):
        np.testing.assert_array_equal(a.arrays(box_kind), b.arrays(box_kind))
    assert a.where == b.where


def _slow(fn, *args):
    try:
        return fn(*args), None
    except ValidationError as exc:
        return None, str(exc)


@PROPERTY
@given(detections)
def test_fast_and_item_by_item_results_agree(data):
    slow, error = _slow(coco._coco_results, data, FN, CATEGORIES, resolve)
    fast = coco._coco_results_fast(data, FN, CATEGORIES, resolve)
    if error is not None:
        assert fast is None, f"fast path accepted what the item reader refuses: {error}"
    elif fast is not None:
        _same_table(fast, slow)


@PROPERTY
@given(annotations)
def test_fast_and_item_by_item_annotations_agree(anns):
    known = {"1", "2", "3", "img7"}
    slow, error = _slow(coco._coco_annotations, anns, FN, known, CATEGORIES)
    fast = coco._coco_annotations_fast(anns, FN, known, CATEGORIES)
    if error is not None:
        assert fast is None, f"fast path accepted what the item reader refuses: {error}"
    elif fast is not None:
        _same_table(fast, slow)


def test_the_fast_paths_run_on_ordinary_files():
    """Guard against a property that holds only because the fast path always
    declines: on clean lists it answers."""
    dets = [
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 3], "score": 0.5},
        {"image_id": "p1", "category_id": 5, "bbox": [1.5, 2, 0, 4], "score": 1},
    ]
    fast = coco._coco_results_fast(dets, FN, CATEGORIES, resolve)
    assert fast is not None
    _same_table(fast, coco._coco_results(dets, FN, CATEGORIES, resolve))
    anns = [
        {"image_id": 1, "category_id": 2, "bbox": [0, 0, 2, 3], "iscrowd": 1},
        {"image_id": 3, "category_id": 1, "bbox": [0, 0, 1, 1],
         "segmentation": [[0, 0, 1, 0, 1, 1, 0, 1]]},
    ]
    fast = coco._coco_annotations_fast(anns, FN, {"1", "3"}, CATEGORIES)
    assert fast is not None
    _same_table(fast, coco._coco_annotations(anns, FN, {"1", "3"}, CATEGORIES))
