"""Training engine (imports torch): ``trainer`` (the loop), ``runtime`` (seeding, the stop flag, the
environment report), ``loaders`` (a rank's batches of an epoch), ``evaluation`` (validation
predictions), ``distributed`` (torchrun/DDP setup and collectives), ``runlog`` (train.log in MMEngine
format, scalars.jsonl, status.json), ``checkpoint`` (atomic saves, safe loads, keep-last-k, best),
``metrics`` and ``train`` (the ``epam train`` CLI)."""
