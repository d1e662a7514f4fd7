"""The kernel every other folder stands on: the three plugin interfaces, the registry and its
hooks, typed configs from YAML, project errors, and where caches live. Imports nothing above it."""
