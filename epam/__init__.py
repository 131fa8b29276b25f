"""epam: EPAM-Net training library.

Importing ``epam`` (and ``epam.config`` / ``epam.schedule``) never imports torch, so that the
TUI can use the config loader and the expected LR curve without paying for torch.
"""

__version__ = "0.1.0"
