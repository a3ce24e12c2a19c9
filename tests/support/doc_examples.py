"""bin/doc-examples: the example sessions in docs/ are produced by running their commands.

A block the tool owns is a fenced block after a marker naming it:

    <!-- example: status -->
    ```
    $ bin/monitor.py
    (output, written by the tool)
    ```

The tool boots a throwaway stack (the repository's supervisord.conf, free ports, a temporary home
that looks like a checkout: bin/, conf/, src/ and .venv linked in), runs each block's ``$`` lines
with bash from that home, in the order of ``ORDER`` (the first starts the stack, the last shuts it
down), and writes what they printed back under each command. Paths, ports and secrets are written as
a reader's checkout would show them (``/home/you/svcstack``, the default ports, keys elided).

    bin/doc-examples            regenerate the blocks in docs/*.md
    bin/doc-examples --check    run them and compare: exit 1 naming each block that drifted

``--check`` ignores what changes from run to run (pids, times, latencies, counts, timestamps,
progress lines and spacing) but not words, names, flags or migration revisions: a renamed program,
a new revision or a changed message fails it. Run by tests/integration/docs/test_doc_examples.py.

The examples show the template as shipped: the throwaway stack runs the template's own program files
(``TEMPLATE_PROGRAMS``) and no other file of ``conf/supervisord.d/``, so a team's added program
(``conf/supervisord.d/links.conf``, docs/extending.md) changes neither the docs nor this check; the
team's own stacks and every other test do run it.
"""

from __future__ import annotations

import argparse
import difflib
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import processes_mentioning
from tests.support.stack import REPO, Stack
from tests.support.wait import wait_until

DOCS = REPO / "docs"
# The order the blocks run in: each leaves the stack as the next one expects.
ORDER = [
    "start-all",
    "status",
    "json",
    "ctl-status",
    "db",
    "logs",
    "control",
    "users",
    "hung",
    "restart",
    "shutdown",
]
BLOCK = re.compile(r"(<!-- example: (?P<name>[\w-]+) -->\n```(?P<lang>\w*)\n)(?P<body>.*?)(```)", re.DOTALL)
READER_HOME = "/home/you/svcstack"
PASSWORD = "correct horse battery staple"
LINKED = ("bin", "src", ".venv", "supervisord.conf")
PROGRAMS = Path("conf") / "supervisord.d"
# The template's own programs: the only ones the examples' stack runs (see the docstring).
TEMPLATE_PROGRAMS = ("api.conf", "frontend.conf", "healthcheck.conf", "workers.conf")


@dataclass
class Block:
    path: Path
    name: str
    body: str

    @property
    def commands(self) -> list[str]:
        return [line[2:] for line in self.body.splitlines() if line.startswith("$ ")]


def find_blocks(paths: list[Path]) -> dict[str, Block]:
    blocks: dict[str, Block] = {}
    for path in paths:
        for match in BLOCK.finditer(path.read_text()):
            name = match["name"]
            if name in blocks:
                raise SystemExit(
                    f"doc-examples: example {name!r} is marked twice ({blocks[name].path}, {path})"
                )
            if name not in ORDER:
                raise SystemExit(f"doc-examples: {path.name}: example {name!r} is not in ORDER ({__file__})")
            blocks[name] = Block(path, name, match["body"])
    missing = [name for name in ORDER if name not in blocks]
    if missing:
        raise SystemExit(f"doc-examples: no block marked for {', '.join(missing)} in {DOCS}")
    return blocks


class Session:
    """The throwaway stack and a bash run of one command at a time from its home."""

    def __init__(self, home: Path) -> None:
        for name in LINKED:
            (home / name).symlink_to(REPO / name)
        # conf/ as in the checkout, but conf/supervisord.d/ holds the template's programs only.
        (home / PROGRAMS).mkdir(parents=True)
        for entry in (REPO / "conf").iterdir():
            if entry.name != PROGRAMS.name:
                (home / "conf" / entry.name).symlink_to(entry)
        for name in TEMPLATE_PROGRAMS:
            if not (REPO / PROGRAMS / name).is_file():
                raise SystemExit(f"doc-examples: {PROGRAMS / name} is gone: update TEMPLATE_PROGRAMS")
            (home / PROGRAMS / name).symlink_to(REPO / PROGRAMS / name)
        env = {
            "APP_ENV": "development",
            # Nothing restarts the frozen API behind the `hung` example's back.
            "HEALTHCHECK_FAILURES": "1000",
            "CTL_PASSWORD": PASSWORD,  # `ctl users create` prompts for it otherwise
            "TERM": "dumb",
            "COLUMNS": "120",
        }
        self.stack = Stack(home, env=env)
        # supervisord, the tools and the listener read the home's conf, not the checkout's.
        self.stack.env["SUPERVISOR_CONFIG"] = str(home / "supervisord.conf")
        self.last_exit = 0

    def run(self, command: str) -> str:
        if command.split("#")[0].strip() == "echo $?":
            return f"{self.last_exit}\n"
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=self.stack.home,
            env=self.stack.env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # no terminal: nothing can wait for typing
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
        )
        self.last_exit = done.returncode
        if command.startswith("bin/monitor.py --start-all"):
            self.stack.started = True  # from here on, close() shuts it down and checks it gone
        if command.startswith("supervisorctl shutdown"):  # show what a reader sees a moment later
            wait_until(lambda: not self.stack.socket.exists(), timeout=60, message="supervisord to exit")
        return self.as_reader_sees_it(done.stdout)

    def as_reader_sees_it(self, output: str) -> str:
        for home in (str(self.stack.home), str(REPO)):  # in a reader's checkout they are one
            output = output.replace(home, READER_HOME)
        defaults = {self.stack.api_port: 8001, self.stack.frontend_port: 5173}
        defaults |= {self.stack.worker_port + n: 8090 + n for n in range(self.stack.workers)}
        for port, default in defaults.items():
            output = re.sub(rf"(?<=:){port}\b", str(default), output)
        output = re.sub(r"\b(sk_[0-9a-f]{8}_)[\w-]+", r"\1...", output)  # a key is never printed twice
        return "".join(line.rstrip() + "\n" for line in output.splitlines())

    def close(self) -> None:
        self.stack.stop()
        home = str(self.stack.home)
        wait_until(
            lambda: not processes_mentioning(home), timeout=60, message="the stack's processes to exit"
        )


def produce(blocks: dict[str, Block], home: Path) -> dict[str, str]:
    session = Session(home)
    produced: dict[str, str] = {}
    try:
        for name in ORDER:
            body = []
            for command in blocks[name].commands:
                body.append(f"$ {command}\n{session.run(command)}")
            produced[name] = "".join(body)
    finally:
        session.close()
    return produced


VOLATILE = [
    (re.compile(r"^\[\s*[\d.]+s\].*\n", re.MULTILINE), ""),  # --start-all/--restart progress lines
    (re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d([.,]\d+)?)?"), "<time>"),
    (re.compile(r"(?<![0-9A-Za-z])(?=[a-f]*\d)[0-9a-f]{8}(?![0-9A-Za-z])"), "<hex>"),  # a key's prefix
    (re.compile(r"\brequest_id=[0-9A-Za-z._-]+"), "request_id=<id>"),  # a new id each request
    (re.compile(r"\b(?!0\d{3}\b)\d+(\.\d+)?"), "<n>"),  # but 0004 (a revision) stays
    (re.compile(r"[ \t]+"), " "),
]


def shape(text: str) -> str:
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def rewrite(blocks: dict[str, Block], produced: dict[str, str]) -> list[Path]:
    changed = []
    for path in sorted({block.path for block in blocks.values()}):
        text = path.read_text()
        new = BLOCK.sub(lambda m: m[1] + produced[m["name"]] + m[5], text)
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


def drifted(blocks: dict[str, Block], produced: dict[str, str]) -> list[str]:
    report = []
    for name in ORDER:
        shown, real = shape(blocks[name].body), shape(produced[name])
        if shown != real:
            diff = difflib.unified_diff(
                shown.splitlines(), real.splitlines(), "in the docs", "when run now", lineterm=""
            )
            report.append(f"{blocks[name].path.relative_to(REPO)}: example {name!r}:\n" + "\n".join(diff))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bin/doc-examples", description="Regenerate (or --check) the example sessions in docs/."
    )
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on drift")
    parser.add_argument(
        "--home", type=Path, help="the throwaway stack's home (default: a new temporary directory)"
    )
    args = parser.parse_args(argv)
    blocks = find_blocks(sorted(DOCS.glob("*.md")))
    with tempfile.TemporaryDirectory(prefix="doc-examples-") as scratch:
        home = args.home or Path(scratch)
        home.mkdir(parents=True, exist_ok=True)
        produced = produce(blocks, home)
    if args.check:
        report = drifted(blocks, produced)
        for entry in report:
            print(entry, file=sys.stderr)
        if report:
            print("doc-examples: run bin/doc-examples to write what the commands print now", file=sys.stderr)
        return 1 if report else 0
    changed = rewrite(blocks, produced)
    print(
        f"doc-examples: {len(blocks)} examples run; rewrote {', '.join(p.name for p in changed) or 'nothing'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
