"""Options declared once: one class attribute is the constructor keyword, the flag with its help,
and the setting's default; a value out of range is refused the same way from both sides."""

from __future__ import annotations

import pytest

from config.config import load
from workers import ExampleWorker, ItemWorker, Option, WorkerError
from workers.cli import build_parser
from workers.item_worker import ClaimedItem, ItemResult


class Loud(ItemWorker):
    """Shouts."""

    worker_name = "loud"
    volume = Option(default=3, parse=int, minimum=1, metavar="N", help="how loud")
    batch_size = Option("WORKER_BATCH_SIZE", parse=int, minimum=2, metavar="N")  # redeclared: stricter

    def process_item(self, item: ClaimedItem) -> ItemResult:
        return ItemResult(title=item.title.upper())


SETTINGS = load({"WORKER_BATCH_SIZE": "7", "WORKER_SIMULATED_WORK": "0.5"}, environ={})


def test_a_declared_option_is_a_keyword_with_its_setting_or_default() -> None:
    worker = Loud(settings=SETTINGS, handle_signals=False)
    assert (worker.volume, worker.batch_size, worker.max_retries) == (3, 7, SETTINGS.WORKER_MAX_RETRIES)
    worker = Loud(settings=SETTINGS, handle_signals=False, volume=9, batch_size=4, idle_interval=0)
    assert (worker.volume, worker.batch_size, worker.idle_interval) == (9, 4, 0)
    assert ExampleWorker(settings=SETTINGS, handle_signals=False).simulated_work == 0.5
    assert isinstance(Loud.volume, Option)  # on the class: the declaration itself


def test_a_value_out_of_range_or_an_unknown_keyword_is_refused() -> None:
    with pytest.raises(WorkerError, match="volume must be at least 1, got 0"):
        Loud(settings=SETTINGS, volume=0)
    with pytest.raises(WorkerError, match="batch_size must be at least 2, got 1"):
        Loud(settings=SETTINGS, batch_size=1)
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        Loud(settings=SETTINGS, loudness=3)


def test_each_option_is_a_flag_with_its_help() -> None:
    parser = build_parser(Loud, prog="python -m workers run x:Loud")
    text = parser.format_help()
    assert "--volume N" in text and "how loud (default: 3)" in text
    assert "--batch-size N" in text and "items claimed per batch (WORKER_BATCH_SIZE)" in text
    args = parser.parse_args(["--volume", "5", "--once"])
    assert (args.volume, args.once, args.batch_size) == (5, True, None)
    with pytest.raises(SystemExit):
        parser.parse_args(["--batch-size", "1"])
