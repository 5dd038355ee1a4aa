"""Readers of the file formats kinds accept, one module per format.

Detection: :mod:`.boxes` (the columnar table), :mod:`.dota`, :mod:`.coco`,
:mod:`.voc_xml`, and :mod:`.detection` (picks the reader).
Embeddings: :mod:`.embeddings` (NPZ). Text: :mod:`.captions`, :mod:`.vqa`,
:mod:`.trec` (retrieval), on top of :mod:`.jsonfile`. Id lists and the duplicate-id check are in :mod:`evaluator.ids`.
Every reader raises :class:`~evaluator.errors.ValidationError` naming the file and
line or item; hidden truth values never appear in messages.
"""
