"""wait_for against the real API, both clients: a worker (the real ItemStore: claim, then finish in
another thread) moves the item on while the client polls."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

import sdk
from store.item_store import Claim, ItemStore, Outcome
from tests.integration.sdk.conftest import Account, LiveAPI, RequestCounter, booted_api
from tests.support.wait import wait_until


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAPI]:
    """An API of this module's own: its worker claims the queue's pending items, which must be this
    module's, not those other modules left."""
    with booted_api(tmp_path_factory) as api:
        yield api


@pytest.fixture
def store(live_api: LiveAPI) -> Iterator[ItemStore]:
    items = ItemStore(live_api.database)
    yield items
    items.close()


def reads_of(counter: RequestCounter, item_id: int) -> int:
    return sum(1 for r in counter.requests if r.url.path == f"/api/v1/items/{item_id}")


class Worker(threading.Thread):
    """Claims the item once the client has seen it pending twice, and finishes it once the client
    has seen it processing: every step waits for the client's reads, never for time."""

    def __init__(
        self, store: ItemStore, counter: RequestCounter, item_id: int, finish: Callable[[int], Outcome]
    ) -> None:
        super().__init__(daemon=True)
        self.store, self.counter, self.item_id, self.finish_with = store, counter, item_id, finish
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            wait_until(lambda: reads_of(self.counter, self.item_id) >= 2, timeout=60, message="2 reads")
            claim: Claim | None = self.store.claim_batch(worker="test", limit=1000, lease_seconds=60)
            assert claim is not None and self.item_id in [i.id for i in claim.items], claim
            # A read is counted when it is sent; the client reads one at a time, so once the second
            # read after the claim is sent, the first was answered: the client has seen it processing.
            seen = reads_of(self.counter, self.item_id)
            wait_until(lambda: reads_of(self.counter, self.item_id) > seen + 1, timeout=60, message="2 reads")
            self.store.finish(claim, [self.finish_with(i.id) for i in claim.items])
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc


@pytest.mark.parametrize(
    ("finish", "status"),
    [
        (lambda i: Outcome.done(i, {"answer": 42}), "done"),
        (lambda i: Outcome.failed(i, "could not"), "failed"),
    ],
)
def test_wait_for_returns_the_item_once_done_or_failed(
    connect, counted, store: ItemStore, account: Account, finish: Callable[[int], Outcome], status: str
) -> None:
    counter, http = counted
    client = connect(api_key=account.api_key, http_client=http)
    item = client.create_item(title="to be processed")
    worker = Worker(store, counter, item.id, finish)
    worker.start()
    finished = client.wait_for(item.id, timeout=60, poll=0.05)
    worker.join(timeout=60)
    assert worker.error is None, worker.error
    assert finished.id == item.id and finished.status == status and finished.finished
    if status == "done":
        assert finished.metadata == {"answer": 42}
    else:
        assert finished.error == "could not"
    assert reads_of(counter, item.id) >= 4  # pending twice, processing once, then finished


def test_wait_for_times_out_naming_the_last_status(connect, counted, account: Account) -> None:
    counter, http = counted
    client = connect(api_key=account.api_key, http_client=http)
    item = client.create_item(title="never processed")
    with pytest.raises(sdk.WaitTimeoutError) as caught:
        client.wait_for(item.id, timeout=0.3, poll=0.05)
    assert f"item {item.id} is still pending after 0.3 s" in str(caught.value)
    assert caught.value.last_status == "pending" and caught.value.item.id == item.id
    assert isinstance(caught.value, TimeoutError) and isinstance(caught.value, sdk.AppError)
    assert reads_of(counter, item.id) >= 2


def test_timeout_zero_looks_once(connect, counted, account: Account) -> None:
    counter, http = counted
    client = connect(api_key=account.api_key, http_client=http)
    item = client.create_item(title="one look")
    with pytest.raises(sdk.WaitTimeoutError, match="still pending"):
        client.wait_for(item.id, timeout=0)
    assert reads_of(counter, item.id) == 1


def test_a_missing_or_another_users_item_is_404_at_once(
    connect, counted, live_api: LiveAPI, account: Account
) -> None:
    counter, http = counted
    theirs = connect(api_key=live_api.new_account().api_key).create_item(title="not yours")
    client = connect(api_key=account.api_key, http_client=http)
    for item_id in (theirs.id, theirs.id + 10_000):
        with pytest.raises(sdk.NotFoundError):
            client.wait_for(item_id, timeout=30, poll=0.05)
        assert reads_of(counter, item_id) == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [({"timeout": -1}, "timeout must be seconds"), ({"poll": 0}, "poll must be seconds, more than 0")],
)
def test_bad_wait_options_are_refused_before_any_request(
    connect, counted, account: Account, options: dict[str, float], message: str
) -> None:
    counter, http = counted
    client = connect(api_key=account.api_key, http_client=http)
    with pytest.raises(ValueError, match=message):
        client.wait_for(1, **options)
    assert counter.count == 0
