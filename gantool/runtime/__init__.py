"""The torch-free runtime: numpy + onnxruntime + pillow only. Never imports torch.

from gantool.runtime import Sampler
images = Sampler("model.onnx").sample(16, seed=0)   # (16, 28, 28) uint8
"""

from gantool.runtime.generator import Generator, to_uint8
from gantool.runtime.grid import make_grid, save_png
from gantool.runtime.metadata import read_metadata
from gantool.runtime.sampler import Sampler, rows_per_label

__all__ = ["Generator", "Sampler", "make_grid", "read_metadata", "rows_per_label", "save_png", "to_uint8"]
