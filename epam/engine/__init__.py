"""Training engine: loop, distributed setup, run-directory logging, checkpoints (imports torch)."""
