"""The `reader` command's entry point: `reader --version` answers at once; anything else starts the CLI.

It must never import anything heavy at module level: every command pays for what it imports.
"""

from __future__ import annotations

import gc
import sys

from . import __version__


def main() -> None:
    if sys.argv[1:] == ["--version"]:  # the CLI's imports (~0.3 s) are not needed to say this
        print(f"reader {__version__}")
        sys.exit(0)
    gc.disable()  # the CLI's imports make some 100,000 objects and no garbage: no collection need walk them
    try:
        from .cli import entry_point
    finally:
        gc.enable()
    try:
        entry_point()
    finally:
        gc.freeze()  # the process ends: its last collections need not walk all the command made (~30 ms)
