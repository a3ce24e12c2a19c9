"""`python -m config check` validates the settings; `python -m config show` prints them."""

from __future__ import annotations

import sys

from config.config import ConfigError, describe, load, worker_stop_problems

SECRET_NAMES = ("SECRET", "PASSWORD")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "check"
    try:
        settings = load()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if command == "check":
        problems = worker_stop_problems(settings)
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        if problems:
            return 2
        print("configuration OK")
        return 0
    if command == "show":
        for name, _default, _doc in describe():
            value = getattr(settings, name)
            shown = "***" if any(s in name for s in SECRET_NAMES) and value else value
            print(f"{name}={shown}")
        return 0
    if command == "markdown":
        print("| Setting | Default | Meaning |\n|---|---|---|")
        for name, default, doc in describe():
            print(f"| `{name}` | `{default}` | {doc} |" if default else f"| `{name}` | | {doc} |")
        return 0
    print("usage: python -m config [check|show|markdown]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
