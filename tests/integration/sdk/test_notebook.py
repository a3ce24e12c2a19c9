"""notebooks/sdk_quickstart.ipynb, executed headless by nbclient with a real kernel against a live API."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import nbformat
import pytest
from nbclient import NotebookClient

from store.db import Database
from tests.integration.sdk.conftest import SERVER_ENV, LiveAPI, repo_root
from tests.integration.sdk.test_pagination_live import add_items
from tests.support.api_server import ApiServer

NOTEBOOK = repo_root() / "notebooks" / "sdk_quickstart.ipynb"


def outputs_of(cell: nbformat.NotebookNode) -> str:
    """Everything a reader sees under a cell: text, rich reprs and stream output."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output["text"])
        for mime in ("text/plain", "text/html"):
            if mime in output.get("data", {}):
                parts.append(output["data"][mime])
    return "\n".join(parts)


@pytest.fixture(scope="module")
def notebook_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAPI]:
    """An API with the default login limit's order of size, so that the notebook meets a 429."""
    home = tmp_path_factory.mktemp("sdk-notebook-api")
    with ApiServer(home, env={**SERVER_ENV, "RATE_LIMIT_LOGIN": "4/minute"}) as server:
        database = Database(server.database_url)
        try:
            yield LiveAPI(server, database)
        finally:
            database.dispose()


def test_the_quickstart_notebook_runs_against_a_live_api(notebook_api: LiveAPI) -> None:
    account = notebook_api.new_account()
    add_items(notebook_api, account, [f"imported {n}" for n in range(1050)])  # a user with history
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    runner = NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    env = {
        **os.environ,
        "APP_BASE_URL": notebook_api.url,
        "APP_EMAIL": account.email,
        "APP_PASSWORD": account.password,
    }
    env.pop("APP_API_KEY", None)
    runner.execute(env=env)  # raises CellExecutionError, with the cell and traceback, if any cell fails

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    shown = [outputs_of(cell) for cell in code]
    assert "status='healthy'" in shown[0]
    assert account.email in shown[1] and account.password not in shown[1]
    assert "Buy milk" in shown[2]
    table = next(out["data"]["text/html"] for out in code[3].outputs if "text/html" in out.get("data", {}))
    assert table.startswith("<table>") and "Write the report" in table
    assert "page 1 of 200+ · 5 of 1000+ items" in table
    assert shown[4].strip() == "(1000, 200, True)"
    assert "1053 items; newest: ['Write the report', 'Call the plumber', 'Buy milk']" in shown[5]
    assert "Buy oat milk" in shown[6]
    assert "NotFoundError: HTTP 404, request id" in shown[7]
    assert shown[8].strip() == "1053"
    limited = re.search(r"login (\d+): RateLimitError, retry_after=(\d+) s", shown[9])
    assert limited is not None, shown[9]
    assert 5 < int(limited.group(2)) <= 60  # raised at once: the wait did not fit the 5 s budget
    assert shown[10].strip() == "(2500, 'pending')"
    assert shown[11].strip() == "not yet: pending"  # no worker runs beside this API
    assert "1000 then 2553 more" in shown[12] and "task 1499" in shown[12] and "<table" in shown[12]
    assert shown[13].strip() == "(200, '1000000', 'task 2499')"
    assert len(code) == 15
