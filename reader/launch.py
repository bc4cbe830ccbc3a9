"""The `reader` command's entry point: `reader --version` answers at once; anything else starts the CLI.

It must never import anything heavy at module level: every command pays for what it imports.
"""

from __future__ import annotations

import sys

from . import __version__


def main() -> None:
    if sys.argv[1:] == ["--version"]:  # the CLI's imports (~0.3 s) are not needed to say this
        print(f"reader {__version__}")
        sys.exit(0)
    from .cli import entry_point

    entry_point()
