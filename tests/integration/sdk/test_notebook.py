"""notebooks/sdk_quickstart.ipynb, executed headless by nbclient with a real kernel against a live API."""

from __future__ import annotations

import os

import nbformat
from nbclient import NotebookClient

from tests.integration.sdk.conftest import Account, LiveAPI, repo_root

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


def test_the_quickstart_notebook_runs_against_a_live_api(live_api: LiveAPI, account: Account) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    runner = NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    env = {
        **os.environ,
        "APP_BASE_URL": live_api.url,
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
    assert table.startswith("<table>") and "Write the report" in table and "page 1 of 1" in table
    assert "3 items; newest: ['Write the report', 'Call the plumber', 'Buy milk']" in shown[4]
    assert "Buy oat milk" in shown[5]
    assert "NotFoundError: HTTP 404, request id" in shown[6]
    assert shown[7].strip() == "3"
