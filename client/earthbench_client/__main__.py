import sys

from earthbench_client.cli import main

sys.exit(main())
