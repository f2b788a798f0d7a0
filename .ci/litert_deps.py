"""Install the LiteRT converter into the dev venv the way `make test` needs it (called by the Makefile).

litert-torch 0.10 declares transformers (for its LLM tools, which gantool does not import), and
transformers pulls full typer, whose `typer` module would replace typer-slim's: so litert-torch is
installed without its dependencies, and then every one of them but transformers. One of them,
litert-converter, brings xdsl 0.28, which declares typing-extensions < 4.13 while selenium, anyio and
cattrs need >= 4.14-4.16; pip then downgrades typing-extensions, so it is put back last. Conversion,
the interpreter and every test were run with typing-extensions 4.16 beside xdsl 0.28.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import requires

from packaging.requirements import Requirement

LITERT = "litert-torch>=0.10,<0.11"
TYPING = "typing-extensions>=4.16"


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", *args], check=True)


def main() -> None:
    pip("--no-deps", "--no-warn-conflicts", LITERT)
    deps = [Requirement(r) for r in requires("litert-torch") or []]
    # --no-warn-conflicts: litert-torch's transformers is left out on purpose (above); pip's resolver
    # would print that as an error on every install although nothing is wrong
    pip(
        "--no-warn-conflicts",
        *(
            str(r)
            for r in deps
            if r.name.lower() != "transformers" and (r.marker is None or r.marker.evaluate({"extra": ""}))
        ),
    )
    pip("--no-warn-conflicts", TYPING)  # xdsl 0.28 asks for < 4.13: expected, see above


if __name__ == "__main__":
    main()
