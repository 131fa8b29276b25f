"""`python -m epam.train CONFIG ...`: the module torchrun runs (same as `epam train`)."""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from epam.commands.train import main

    sys.exit(main(sys.argv[1:]))
