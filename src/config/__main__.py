"""`python -m config check` validates the settings; `python -m config show` prints them.

``check`` exits 2 with one ``error: ...`` line per problem (a value that does not parse, or settings
the production guard refuses: see ``config.checks``; a program's health URL naming a placeholder
neither its environment= nor the settings define: see ``config.programs``), or prints ``configuration OK``.
"""

from __future__ import annotations

import sys

from config.config import ConfigError, describe, load

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
        from config.checks import problems
        from config.deployment import deployment_problems
        from config.programs import program_problems

        # What any program refuses, then what a production server needs (the built app, the proxy),
        # then health URLs of supervised programs that cannot be filled.
        found = problems(settings) + deployment_problems(settings) + program_problems(settings)
        for line in found:  # one line per problem, so each can be fixed (and grepped) on its own
            print(f"error: {line}", file=sys.stderr)
        if found:
            return 2
        print(f"configuration OK (APP_ENV={settings.APP_ENV})")
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
