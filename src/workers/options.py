"""A worker's options, each declared once: the setting it defaults to, its flag, its constructor
argument and its help, from one class attribute.

    class Shouter(ItemWorker):
        volume = Option(default=3, parse=int, minimum=1, metavar="N", help="how loud")

    Shouter(volume=5)                            # the constructor argument
    python -m workers run myapp.shouter:Shouter --volume 5     # the flag, listed by --help

An option naming a setting (``Option("WORKER_BATCH_SIZE", parse=int)``) defaults to it, and its
help is the setting's documentation (docs/configuration.md). Given as None, or not given, an option
takes its setting (or its ``default``); a value below ``minimum`` is refused the same way from the
constructor (``WorkerError``) and from the command line (argparse's message, exit 2).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from config.config import Settings


class WorkerError(Exception):
    """Root of this package's errors: a worker that cannot start (bad option, health port taken)."""


def non_negative_seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return number


class Option:
    """One option of a worker class (see the module docstring). A class attribute: on an instance
    it reads as the value the worker runs with."""

    def __init__(
        self,
        setting: str | None = None,
        *,
        parse: Callable[[str], Any] = str,
        default: Any = None,
        minimum: float | None = None,
        help: str = "",  # noqa: A002 - argparse's word
        metavar: str | None = None,
        flag: bool = False,
    ) -> None:
        self.setting = setting
        self.parse = parse
        self.default = default
        self.minimum = minimum
        self.help = help
        self.metavar = metavar
        self.flag = flag  # a switch (--once): no value, False unless given
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is None:
            return self
        settings = getattr(obj, "settings", None)
        return self.resolve(None, settings) if isinstance(settings, Settings) else self.default

    @property
    def cli_flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def describe(self) -> str:
        """The help text: the option's own, else its setting's documentation; names the setting."""
        text = self.help
        if self.setting is not None:
            doc = Settings.model_fields[self.setting].description or ""
            text = f"{text or doc} ({self.setting})"
        elif self.default not in (None, False):
            text = f"{text} (default: {self.default})"
        return text

    def check(self, value: Any) -> Any:
        """``value`` if it is allowed; WorkerError naming the option otherwise."""
        if self.minimum is not None and value is not None and value < self.minimum:
            raise WorkerError(f"{self.name} must be at least {self.minimum:g}, got {value}")
        return value

    def resolve(self, value: Any, settings: Settings | None) -> Any:
        """The value to run with: ``value`` when given, else the setting's, else the default."""
        if value is None:
            if self.setting is not None and settings is not None:
                value = getattr(settings, self.setting)
            else:
                value = self.default
        return self.check(value)

    def cli_type(self, text: str) -> Any:
        """argparse's ``type=``: parse the text, then the same check as the constructor's."""
        try:
            value = self.parse(text)
        except (TypeError, ValueError) as exc:
            raise argparse.ArgumentTypeError(f"invalid value {text!r}: {exc}") from None
        try:
            return self.check(value)
        except WorkerError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        if self.flag:
            parser.add_argument(self.cli_flag, dest=self.name, action="store_true", help=self.describe())
            return
        parser.add_argument(
            self.cli_flag,
            dest=self.name,
            type=self.cli_type,
            default=None,
            metavar=self.metavar or self.name.upper(),
            help=self.describe(),
        )


def options_of(cls: type) -> dict[str, Option]:
    """Every option of ``cls`` and its bases, by name (a subclass may redeclare one)."""
    found: dict[str, Option] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, Option):
                found[name] = value
    return found
