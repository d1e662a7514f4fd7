"""Whether two eval runs scored the same items with the same gold labels and fields, so that
their answers can be compared item by item (``bizztune report``, ``bizztune plan``).

    check_pair(load_run(a), load_run(b))     # raises DataError naming both folders
"""

from __future__ import annotations

from bizztune.core.errors import DataError
from bizztune.eval.runs import EvalRun


def check_pair(a: EvalRun, b: EvalRun) -> None:
    shared = [i for i in a.predictions if i in b.predictions]
    if not shared:
        raise DataError(
            f"{a.dir} and {b.dir} share no scored item: score both models on the same "
            f"--data (and --split)"
        )
    for i in shared:
        if a.predictions[i]["gold"] != b.predictions[i]["gold"]:
            raise DataError(
                f"item {i!r} has other gold labels in {a.dir} than in {b.dir}: the runs "
                f"scored different data"
            )
    if a.metrics.get("fields", {}).keys() != b.metrics.get("fields", {}).keys():
        raise DataError(f"{a.dir} and {b.dir} score different fields")
