"""The shape of a stack: development (Vite dev server) or production (the API serves the built app).

``supervisord.conf`` includes ``conf/supervisord.d/*.conf`` (every program, the development shape)
and then ``var/supervisord.d/*.conf`` of its working directory, the stack home. ``bin/run`` writes
that second file from config, so one switch (``APP_ENV``) picks the shape and plain
``supervisord -c supervisord.conf`` keeps starting the shape ``bin/run`` chose last::

    python -m ops.shape          # write APP_HOME/var/supervisord.d/shape.conf, print the summary

supervisord merges a later include into the sections it already read, so the file only overrides:
the environment the programs run with, the worker count, and in production ``numprocs = 0`` for the
frontend, which leaves supervisord no Vite process to start (``start all`` included).
"""

from __future__ import annotations

import sys
from pathlib import Path

from config.config import ConfigError, Settings, cpu_count, load

SHAPE_FILE = Path("var") / "supervisord.d" / "shape.conf"


def shape_name(settings: Settings) -> str:
    return "production" if settings.is_production else "development"


def _quoted(value: str) -> str:
    # supervisord's environment= syntax, with ConfigParser's % escaped.
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%") + '"'


def render_shape(settings: Settings) -> str:
    """The include for ``settings``' shape: the same settings always give the same text."""
    lines = [
        "; Written by bin/run (python -m ops.shape) from config: do not edit, change the settings",
        "; (.env or the environment) and run bin/run again.",
        f"; shape: {shape_name(settings)}",
        "",
        "[supervisord]",
        "; Programs started by plain `supervisord -c supervisord.conf` (e.g. at boot) get the same",
        "; environment and home as the bin/run that wrote this file.",
        f"environment = APP_ENV={_quoted(settings.APP_ENV)},APP_HOME={_quoted(settings.APP_HOME)}"
        # The built app bin/run built (config finds nothing from the source tree by itself).
        + (f",STATIC_DIR={_quoted(settings.STATIC_DIR)}" if settings.is_production else ""),
        "",
        "[program:worker]",
        f"numprocs = {settings.WORKER_PROCESSES}",
    ]
    if settings.is_production:
        lines += [
            "",
            "[program:frontend]",
            "; The API serves the built app (STATIC_DIR): no Vite dev server in production.",
            "numprocs = 0",
        ]
    return "\n".join(lines) + "\n"


def shape_path(settings: Settings) -> Path:
    return Path(settings.APP_HOME) / SHAPE_FILE


def write_shape(settings: Settings) -> bool:
    """Write the shape file for ``settings``; True if its content changed."""
    path = shape_path(settings)
    text = render_shape(settings)
    if path.is_file() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    temporary.replace(path)
    return True


def sizing_summary(settings: Settings) -> str:
    """What was chosen and why, e.g. ``API workers 2, worker processes 2 (auto, 2 CPUs)``."""
    explicit = [name for name in ("API_WORKERS", "WORKER_PROCESSES") if settings.explicit(name)]
    why = f"set: {', '.join(explicit)}" if explicit else "auto"
    return (
        f"API workers {settings.API_WORKERS}, worker processes {settings.WORKER_PROCESSES} "
        f"({why}; {cpu_count()} CPUs, {shape_name(settings)})"
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["write"]):
        print("usage: python -m ops.shape [write]", file=sys.stderr)
        return 2
    try:
        settings = load()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    changed = write_shape(settings)
    state = "changed" if changed else "unchanged"
    print(f"shape {shape_name(settings)} ({state}): {sizing_summary(settings)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
