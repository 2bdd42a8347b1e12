"""The ``touchstream`` command: thin wiring over the pipeline packages; the only reader of the environment."""
