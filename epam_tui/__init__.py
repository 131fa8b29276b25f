"""epam-tui: a terminal cockpit for EPAM-Net training runs.

Never imports torch (an import-hygiene test guards this), so it starts in a fraction of a second.
"""

__version__ = "0.1.0"
