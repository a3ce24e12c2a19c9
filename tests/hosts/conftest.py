"""The several-hosts test runs in a step of its own, after bin/test: `bin/hosts test` (.ci/run does).
It needs root and `ip netns`, boots three supervisord hosts and cuts their links for about a
minute, so plain `bin/test` does not collect it (HOSTS_TEST=1 makes it)."""

from __future__ import annotations

import os

collect_ignore_glob = [] if os.environ.get("HOSTS_TEST") else ["test_*.py"]
