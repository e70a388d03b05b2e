"""Entry point for `python -m colorstudio` and the packaged app."""
from __future__ import annotations

import sys


def main() -> None:
    from colorstudio.cli import main as cli_main

    sys.exit(cli_main())


if __name__ == "__main__":
    main()
