"""benchmarks/recipe_time.py: the time-to-FID ratio is read from the shortest budget that reaches A's FID."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location(
    "recipe_time", Path(__file__).parents[1] / "benchmarks" / "recipe_time.py"
)
recipe_time = importlib.util.module_from_spec(spec)
spec.loader.exec_module(recipe_time)


def _run(minutes, fid):
    return {"name": f"B-{minutes:g}", "minutes": minutes, "fid": fid}


def test_ratio_from_the_shortest_budget_that_reaches_the_baseline():
    a = {"name": "A", "fid": 21.5}
    text = recipe_time.time_ratio(a, [_run(4, 20.9), _run(3, 21.4), _run(2, 25.0)], 10)
    assert "within 3 min (FID 21.40), so B is at least 3.3x faster (>= 2.5x) met" in text
    assert "at least 2.5x faster (>= 2.5x) met" in recipe_time.time_ratio(a, [_run(4, 21.5)], 10)


def test_ratio_not_met_when_no_budget_reaches_the_baseline():
    text = recipe_time.time_ratio({"name": "A", "fid": 21.49}, [_run(4, 21.63), _run(3, 23.0)], 10)
    assert "no shorter budget of B reached it (best 21.63 at 4 min)" in text and text.endswith("NOT met.")


def test_report_keeps_its_heading_and_one_row_per_run():
    def run(name, minutes, fid):
        return {
            "name": name,
            "flags": "(defaults)",
            "minutes": minutes,
            "steps": 10,
            "images_per_s": 800.0,
            "fid": fid,
            "fid_floor": 15.0,
            "coverage": 1.0,
            "class_accuracy": {"overall": 0.99},
            "copy_share": 0.01,
            "closer_to_train": 0.6,
        }

    text = recipe_time.report([run("A", 10, 22.0)], run("B", 10, 17.0), [run("B-4", 4, 21.0)], 10)
    assert text.startswith("## Time to quality")  # the heading lives in the section a re-run rewrites
    assert [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| ")][1:] == ["A", "B", "B-4"]
    assert "1.13x the floor (<= 1.2x) met" in text and "at least 2.5x faster (>= 2.5x) met" in text
