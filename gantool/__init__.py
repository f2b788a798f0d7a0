"""gantool: train MNIST-style GAN generators, export them verified, sample them anywhere."""

import os as _os

__version__ = "0.1.0"

# onnxruntime (1.32 on PyPI) writes a telemetry device ID and an event database under
# ~/.cache/Microsoft/DeveloperTools/ as soon as it is imported; this variable, read at that import,
# turns it off (measured: nothing is written). Set here, before any gantool module imports
# onnxruntime; a user who wants the telemetry sets ORT_DISABLE_TELEMETRY=0 themselves.
_os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
