"""Local development (`make demo`). Chosen explicitly: the entry points default
to production. Debug pages only with ``DJANGO_DEBUG=1`` (read in ``base``)."""

from earthbench.settings.base import *  # noqa: F403
