"""Fit the number of optimizer steps to a time budget, from the throughput measured on this
machine in the first steps of the run.

    budget = TimeBudget(minutes=8)
    total = budget.fit(elapsed_s=21.0, tokens_done=3400, step=3, step_tokens=tokens, total=100)

``step_tokens`` are the padded tokens of every planned step (the batch order is known before
training), so a run whose later batches hold longer tickets is fitted on what they cost, not on
an average. The fit is made once, after ``CALIBRATION_STEPS`` steps: the time of those steps
includes the warm-up of the kernels, so the estimate errs on the safe side. The learning-rate
schedule is then laid over the fitted number of steps (its warm-up and cosine end where the
run ends). The budget covers the training loop; loading the model and the run's other stages
are outside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CALIBRATION_STEPS = 3
"""Optimizer steps timed before the number of steps is fitted."""


@dataclass(frozen=True)
class TimeBudget:
    minutes: float

    def fit(
        self,
        elapsed_s: float,
        tokens_done: int,
        step: int,
        step_tokens: Sequence[int],
        total: int,
    ) -> int:
        """The most steps (at least ``step``, at most ``total``) whose estimated time, at the
        seconds per token measured so far, fits in the budget."""
        if tokens_done <= 0:
            return total
        per_token = elapsed_s / tokens_done
        t, n = elapsed_s, step
        while n < total and t + step_tokens[n] * per_token <= self.minutes * 60:
            t += step_tokens[n] * per_token
            n += 1
        return max(n, step, 1)
