"""Data: read and write labelled items (io), generate them (generate, llm_generate), split them
without leakage (split), check their quality (datacard), and the embedded default (sources)."""
