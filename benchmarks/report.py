"""Results files shared by several benchmark scripts: each script owns one named section of the file.

`write_section(path, name, text)` replaces the text between `<!-- section: name -->` and
`<!-- /section: name -->` (invisible in rendered Markdown), or appends the section, and leaves the
rest of the file as the other scripts wrote it.
"""

from __future__ import annotations

import re
from pathlib import Path


def write_section(path: Path, name: str, text: str) -> None:
    begin, end = f"<!-- section: {name} -->", f"<!-- /section: {name} -->"
    block = f"{begin}\n{text.rstrip()}\n{end}\n"
    old = path.read_text() if path.exists() else ""
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.S)
    new = (
        pattern.sub(lambda _: block, old, count=1)
        if pattern.search(old)
        else (old.rstrip() + "\n\n" if old.strip() else "") + block
    )
    path.write_text(new)
