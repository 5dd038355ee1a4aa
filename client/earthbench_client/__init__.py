"""EarthBench command-line client: submit predictions and containers, from CI too."""

from earthbench_client.api import Api
from earthbench_client.errors import (
    ApiError,
    EarthbenchError,
    NetworkError,
    UsageError,
    WaitTimeout,
)
from earthbench_client.http import Client

__version__ = "0.1.0"

__all__ = [
    "Api",
    "ApiError",
    "Client",
    "EarthbenchError",
    "NetworkError",
    "UsageError",
    "WaitTimeout",
    "__version__",
]
