"""One-shot use as in the original design: ``python main.py <videos_dir> [options]``.

Equivalent to ``vdedup scan <videos_dir>``; any vdedup subcommand also works.
"""
import sys

from vdedup_lib.cli import COMMANDS, main

if __name__ == "__main__":
    argv = sys.argv[1:]
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help"):
        argv = ["scan"] + argv
    sys.exit(main(argv))
