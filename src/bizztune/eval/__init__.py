"""Evaluation: score one provider on a task (evaluate), the metrics, the run-directory format,
its tables, and paired comparison of two runs with the verdict."""
