"""Model-container submissions: image import and the hardened, measured run.

No Django here: the platform's Celery tasks call these functions. See
docs/sandbox.md for the contract and how each hardening rule is proven.
"""

from evaluator.sandbox.engine import (
    docker_client,
    engine_problem,
    load_image,
    loaded_image,
)
from evaluator.sandbox.gpuattach import GpuUnavailable
from evaluator.sandbox.images import ImageLeases
from evaluator.sandbox.imagetar import ImageInfo, validate_image_tar
from evaluator.sandbox.limits import ImageCaps, Limits
from evaluator.sandbox.runner import (
    RunResult,
    Sandbox,
    SandboxConfig,
    judge,
    reap_expired,
)
from evaluator.sandbox.staging import InputSample, check_output, stage_input

__all__ = [
    "GpuUnavailable",
    "ImageCaps",
    "ImageInfo",
    "ImageLeases",
    "InputSample",
    "Limits",
    "RunResult",
    "Sandbox",
    "SandboxConfig",
    "check_output",
    "docker_client",
    "engine_problem",
    "judge",
    "load_image",
    "loaded_image",
    "reap_expired",
    "stage_input",
    "validate_image_tar",
]
