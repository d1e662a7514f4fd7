"""Reports over finished eval runs: side by side (``bizztune report``) and the experiment report
of ``bizztune run`` (Markdown, summary.json, plots, a self-contained HTML page)."""
