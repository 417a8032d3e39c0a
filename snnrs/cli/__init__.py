"""The ``snnrs`` command: ``train``, ``export``, ``events``, ``bench``, ``search``.

Every failure prints one line ``snnrs <command>: error: <reason>`` and exits non-zero."""

import argparse
import sys

from snnrs.cli import bench, events, export, search, train

COMMANDS = {"train": train, "export": export, "events": events, "bench": bench, "search": search}
EXPECTED_ERRORS = (ValueError, TypeError, KeyError, FileNotFoundError, ImportError, RuntimeError, OSError)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="snnrs", description="Spiking neural networks: train, export, inspect events, "
                                "benchmark.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS.values():
        module.add_parser(sub)
    return p


def main(argv=None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.command is None:
        p.print_help()
        return 2
    try:
        COMMANDS[args.command].run(args)
    except KeyboardInterrupt:
        print(f"snnrs {args.command}: interrupted", file=sys.stderr)
        return 130
    except SystemExit:
        raise
    except EXPECTED_ERRORS as e:
        message = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"snnrs {args.command}: error: {message}", file=sys.stderr)
        return 1
    return 0
