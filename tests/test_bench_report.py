"""benchmarks/report.py: a script rewrites its own section of a shared results file, nothing else."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("report", Path(__file__).parents[1] / "benchmarks" / "report.py")
report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(report)


def test_write_section_appends_then_replaces_only_its_own(tmp_path):
    path = tmp_path / "quality.md"
    path.write_text("hand-written intro\n")
    report.write_section(path, "a.py", "| a | 1 |")
    report.write_section(path, "b.py", "| b | 2 |")
    report.write_section(path, "a.py", "| a | 3 |\n")
    text = path.read_text()
    assert text.startswith("hand-written intro\n")
    assert "| a | 3 |" in text and "| a | 1 |" not in text and "| b | 2 |" in text
    assert text.count("<!-- section: a.py -->") == 1 and text.index("| a | 3 |") < text.index("| b | 2 |")


def test_write_section_creates_the_file(tmp_path):
    path = tmp_path / "new.md"
    report.write_section(path, "x", "body")
    assert path.read_text() == "<!-- section: x -->\nbody\n<!-- /section: x -->\n"
