#!/usr/bin/env python
"""Django's command-line utility. ``platform/`` is a source root (no __init__.py)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
for p in (ROOT, ROOT / "platform"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

if __name__ == "__main__":
    # Fail closed: production unless dev or test settings are chosen explicitly
    # (`make demo`, pytest, .ci); production refuses to start without a real secret.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "earthbench.settings.production")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
