"""Record a bundled model's SHA-256 in gantool/runtime/models/manifest.json (make pretrained, make
pretrained-nano): the JSON file bundled.py reads, rewritten atomically, so no tool edits Python source.

    python .ci/record_bundled.py digits.seeded.fp16.onnx base
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

MODELS = Path(__file__).resolve().parents[1] / "gantool" / "runtime" / "models"


def record(name: str, size: str, models: Path = MODELS) -> str:
    path = models / name
    if not path.is_file() or path.is_symlink():
        raise SystemExit(f"error: {path} is not a plain file; copy the model there first")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest = models / "manifest.json"
    data = json.loads(manifest.read_text()) if manifest.exists() else {"models": {}}
    data["models"][name] = {"sha256": sha, "size": size}
    fd, tmp = tempfile.mkstemp(dir=models, prefix=".manifest.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, manifest)
    return sha


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: record_bundled.py MODEL_FILE_NAME SIZE")
    print(f"{sys.argv[1]}: {record(sys.argv[1], sys.argv[2])}")
