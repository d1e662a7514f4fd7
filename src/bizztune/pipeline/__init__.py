"""The pipelines: ``bizztune run`` (the whole study as resumable stages) and ``bizztune sweep``
(one trained and scored adapter per trial)."""
