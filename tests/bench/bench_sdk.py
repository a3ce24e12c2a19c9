"""bin/bench sdk: the SDK against a plain httpx loop doing the same requests, on one local API.

    bin/bench sdk [--rounds 5] [--calls 1000] [--items 10000] [--create 10000] [--create-rounds 3]

Boots a real API (gunicorn, SQLite) on a free port, then, side by side (calls interleaved one by one):
  get_item   N sequential ``Client.get_item`` calls   vs  ``httpx.Client.get`` + ``.json()``
  iter_items every item via ``Client.iter_items``     vs  the same cursor loop over ``httpx.Client``
  async get  N sequential ``AsyncClient.get_item``    vs  ``httpx.AsyncClient.get`` + ``.json()``
  batch      ``Client.create_items`` of M items       vs  httpx POSTs of the same 1,000-item batches
  batch vs single  ``create_items`` of M items        vs  M ``Client.create_item`` calls (speed-up)
and counts the TCP connections each opens for 100 sequential calls (a new client per call, no pool,
is shown as the anchor of what pooling saves). Prints medians, the spread of the per-round ratios,
and ratios (ours / raw), with the machine's load average and CPU steal over the run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from sdk import AsyncClient, Client
from store import accounts
from store.db import Database
from store.models import Item
from tests.support.api_server import ApiServer

SERVER_ENV = {
    "RATE_LIMIT_DEFAULT": "100000000/minute",
    "RATE_LIMIT_LOGIN": "10000/minute",
    "API_MAX_REQUESTS": "0",
}


def seed(database: Database, items: int) -> tuple[str, int | None]:
    """A user, its API key and ``items`` items, written straight into the database."""
    with database.session() as session:
        user = accounts.create_user(
            session, email=f"bench-{secrets.token_hex(4)}@example.com", password=secrets.token_urlsafe(16)
        )
        _, key = accounts.create_api_key(session, user_id=user.id, name="bench")
        session.add_all([Item(user_id=user.id, title=f"item {n}") for n in range(items)])
        session.flush()
        first = session.query(Item.id).filter(Item.user_id == user.id).order_by(Item.id).first()
    return key, None if first is None else first[0]


Step = Callable[[], Any]


def cpu_times() -> list[int]:
    """The aggregate ``cpu`` line of /proc/stat: user nice system idle iowait irq softirq steal ..."""
    with open("/proc/stat") as stat:
        return [int(value) for value in stat.readline().split()[1:]]


def steal_percent(before: list[int], after: list[int]) -> float:
    deltas = [b - a for a, b in zip(before, after, strict=True)]
    total = sum(deltas[:8]) or 1  # guest time is already counted in user
    return 100.0 * deltas[7] / total


def measure(ours: Step, raw: Step, *, steps: int, rounds: int) -> tuple[list[float], list[float]]:
    """Per-round wall time of ``steps`` calls on each side, the two sides interleaved call by call
    (alternating which goes first), so load from other processes falls on both alike."""
    ours_totals, raw_totals = [], []
    for round_number in range(rounds):
        ours_total = raw_total = 0.0
        for step in range(steps):
            ours_first = (round_number + step) % 2 == 0
            order = ((ours, True), (raw, False)) if ours_first else ((raw, False), (ours, True))
            for call, is_ours in order:
                started = time.perf_counter()
                call()
                elapsed = time.perf_counter() - started
                if is_ours:
                    ours_total += elapsed
                else:
                    raw_total += elapsed
        ours_totals.append(ours_total)
        raw_totals.append(raw_total)
    return ours_totals, raw_totals


class ConnectionCounter:
    """Counts TCP connects through httpcore's ``trace`` extension, attached by a request event hook."""

    def __init__(self) -> None:
        self.opened = 0

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.complete":
            self.opened += 1

    def hook(self, request: httpx.Request) -> None:
        request.extensions["trace"] = self._trace


def count_connections(calls: int, make_call: Callable[[ConnectionCounter], Callable[[], Any]]) -> int:
    counter = ConnectionCounter()
    call = make_call(counter)
    for _ in range(calls):
        call()
    return counter.opened


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bin/bench sdk", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--create", type=int, default=10_000, help="items per create_items round")
    parser.add_argument(
        "--create-rounds", type=int, default=3, help="rounds of the batch-vs-single case (slow: M creates)"
    )
    parser.add_argument(
        "--cases",
        default="get,iter,async,batch,speedup",
        help="comma-separated subset of get,iter,async,batch,speedup",
    )
    args = parser.parse_args(argv)
    load_before, cpu_before = os.getloadavg(), cpu_times()

    with (
        tempfile.TemporaryDirectory(prefix="bench-sdk-") as home,
        ApiServer(Path(home), env=SERVER_ENV, workers=1) as server,
    ):
        database = Database(server.database_url)
        try:
            key, first_id = seed(database, args.items)
            creator_key, _ = seed(database, 0)  # the creates go to their own user: iter_items stays at N
        finally:
            database.dispose()
        assert first_id is not None, "--items must be 1 or more"
        item_id: int = first_id
        headers = {"X-API-Key": key}
        items_url = f"{server.url}/api/v1/items"

        sdk_client = Client(base_url=server.url, api_key=key)
        raw = httpx.Client(headers=headers)

        get_url = f"{items_url}/{item_id}"

        def raw_get() -> None:
            response = raw.get(get_url)
            response.raise_for_status()
            response.json()

        def ours_iter() -> None:
            count = sum(1 for _ in sdk_client.iter_items(limit=100))
            assert count == args.items, count

        def raw_iter() -> None:
            count, after = 0, None
            while True:
                params: dict[str, Any] = {"limit": 100, **({"after": after} if after else {})}
                response = raw.get(items_url, params=params)
                response.raise_for_status()
                page = response.json()
                count += len(page["items"])
                after = page["next_cursor"]
                if after is None:
                    break
            assert count == args.items, count

        loop = asyncio.new_event_loop()
        async_sdk = AsyncClient(base_url=server.url, api_key=key)
        async_raw = httpx.AsyncClient(headers=headers)

        async def raw_async_get() -> None:
            response = await async_raw.get(get_url)
            response.raise_for_status()
            response.json()

        batch_url = f"{items_url}/batch"
        create_round = [0]

        def new_items(side: str) -> list[dict[str, Any]]:
            create_round[0] += 1
            return [{"title": f"{side} {create_round[0]}.{n}"} for n in range(args.create)]

        creator = Client(base_url=server.url, api_key=creator_key)
        raw_creator = httpx.Client(headers={"X-API-Key": creator_key})

        def ours_batch() -> None:
            created = creator.create_items(new_items("sdk batch"))
            assert len(created) == args.create, len(created)

        def raw_batch() -> None:
            wanted = new_items("raw batch")
            created = []
            for start in range(0, len(wanted), 1000):
                response = raw_creator.post(
                    batch_url,
                    json={"items": wanted[start : start + 1000]},
                    headers={"Idempotency-Key": f"raw-{secrets.token_hex(8)}"},
                )
                response.raise_for_status()
                created += response.json()["items"]
            assert len(created) == args.create, len(created)

        def ours_singles() -> None:
            for body in new_items("sdk single"):
                creator.create_item(**body)

        # (name, ours, raw, steps per round, rounds, aim): one step = one call, or one whole iteration.
        all_cases: dict[str, tuple[str, Step, Step, int, int, str]] = {
            "get": (
                f"get_item x{args.calls}",
                lambda: sdk_client.get_item(item_id=item_id),
                raw_get,
                args.calls,
                args.rounds,
                "<= 1.10",
            ),
            # Two whole iterations a round, one with each side first: with one, each round's ratio
            # fell on one side of an order effect (the second run of a back-to-back pair is slower).
            "iter": (f"iter_items over {args.items} x2", ours_iter, raw_iter, 2, 2 * args.rounds, "<= 1.10"),
            "async": (
                f"async get_item x{args.calls}",
                lambda: loop.run_until_complete(async_sdk.get_item(item_id=item_id)),
                lambda: loop.run_until_complete(raw_async_get()),
                args.calls,
                args.rounds,
                "-",
            ),
            # Both with an Idempotency-Key per request of 1,000 (as the SDK sends), one after another.
            "batch": (f"create_items {args.create}", ours_batch, raw_batch, 1, args.rounds, "<= 1.10"),
            # Not ours vs raw: the batch against one create_item call per item, both through the SDK.
            "speedup": (
                f"create_items / {args.create} create_item",
                ours_batch,
                ours_singles,
                1,
                args.create_rounds,
                ">= 20x faster",
            ),
        }
        cases = [all_cases[name.strip()] for name in args.cases.split(",") if name.strip()]
        try:
            for _, ours, anchor, *_ in cases:  # warm-up: connections, caches, the server's first requests
                ours()
                anchor()
            results = []
            for name, ours, anchor, steps, rounds, aim in cases:
                ours_times, raw_times = measure(ours, anchor, steps=steps, rounds=rounds)
                ratios = [o / r for o, r in zip(ours_times, raw_times, strict=True)]
                results.append(
                    (
                        name,
                        statistics.median(ours_times),
                        statistics.median(raw_times),
                        statistics.median(ratios),
                        (min(ratios), max(ratios)),
                        aim,
                    )
                )

            fresh = Client(base_url=server.url, api_key=key)
            fresh_raw = httpx.Client(headers=headers)
            try:

                def sdk_call(counter: ConnectionCounter) -> Callable[[], Any]:
                    # The SDK's own default pool, observed through its httpx client's hooks.
                    fresh._http.event_hooks = {"request": [counter.hook]}
                    return lambda: fresh.get_item(item_id=item_id)

                def raw_call(counter: ConnectionCounter) -> Callable[[], Any]:
                    fresh_raw.event_hooks = {"request": [counter.hook]}
                    return lambda: fresh_raw.get(get_url)

                def unpooled_call(counter: ConnectionCounter) -> Callable[[], Any]:
                    def call() -> None:  # what httpx.get() does: a new client, so a new connection
                        with httpx.Client(headers=headers, event_hooks={"request": [counter.hook]}) as once:
                            once.get(get_url)

                    return call

                ours_conns = count_connections(100, sdk_call)
                raw_conns = count_connections(100, raw_call)
                unpooled = count_connections(100, unpooled_call)
            finally:
                fresh.close()
                fresh_raw.close()
        finally:
            sdk_client.close()
            raw.close()
            creator.close()
            raw_creator.close()
            loop.run_until_complete(async_sdk.close())
            loop.run_until_complete(async_raw.aclose())
            loop.close()

    load_after, steal = os.getloadavg(), steal_percent(cpu_before, cpu_times())
    print(
        "SDK benchmark: medians over rounds (ratio = median of per-round ours/raw, spread = min-max of"
        " them), calls interleaved; API: gunicorn 1 worker, SQLite, loopback"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load_before[0]:.2f} at start, {load_after[0]:.2f}"
        f" at end (1 min), CPU steal {steal:.1f}% over the run"
    )
    print(f"{'case':<40} {'ours (s)':>10} {'anchor (s)':>11} {'ratio':>7} {'spread':>11}  aim")
    for name, ours_s, raw_s, ratio, (low, high), aim in results:
        if aim.endswith("faster"):  # shown as the speed-up, anchor / ours
            shown, spread = f"{1 / ratio:>6.1f}x", f"{1 / high:.1f}-{1 / low:.1f}x"
        else:
            shown, spread = f"{ratio:>7.2f}", f"{low:.2f}-{high:.2f}"
        print(f"{name:<40} {ours_s:>10.3f} {raw_s:>11.3f} {shown} {spread:>11}  {aim}")
    print(
        f"{'TCP connections, 100 calls':<40} {ours_conns:>10} {raw_conns:>11} {'':>7} {'':>11}  1 "
        f"(new client per call: {unpooled})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
