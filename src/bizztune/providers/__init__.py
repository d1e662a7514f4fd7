"""Built-in providers. Each module imports its heavy client library lazily."""
