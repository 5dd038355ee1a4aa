"""A shared synthetic overhead scene for the pixel- and object-level demo generators.

A :class:`~.model.Scene` is a terrain label map (smooth random regions, thick roads,
rotated building footprints) plus a list of oriented objects (buildings, vehicles,
ships, storage tanks, trees) and relations between them derived from geometry. It
renders to an RGB (or many-band) image whose per-class colours, textures and noise
make a per-pixel classifier good but not perfect. :func:`~.make.change_scene` makes
a second date with new/demolished buildings and new roads plus the exact change mask.

Modules, one concern each: :mod:`.model` (classes and the scene), :mod:`.geometry`
(polygons, masks, distances, noise), :mod:`.layout` (terrain, roads, object
placement), :mod:`.relations` (relations from geometry), :mod:`.make` (random
scenes and their second date), :mod:`.render` (RGB and spectral images),
:mod:`.referring` (expressions naming one object). Files are written by
:mod:`benchmarks.writers`.

Conventions: pixel (row r, column c) covers x in [c, c+1), y in [r, r+1); polygons are
in x,y pixel coordinates, corner order clockwise on screen (y down); an object's mask
is the set of pixels whose centre lies inside its polygon. Object sizes are in pixels
(a fixed ground sampling distance); bigger scenes hold more objects, not bigger ones.
"""
