"""Providers: answer chat requests. ``baselines`` (no model), ``api/`` (paid APIs and
OpenAI-compatible servers, one engine and one file per vendor), ``local/`` (local models)."""
