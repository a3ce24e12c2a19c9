"""The image test runs in a step of its own, after bin/test: `bin/image test` builds the image and
runs it with IMAGE_TAG set (.ci/run does). It needs root, podman, runc and debootstrap, and boots
containers for minutes, so plain `bin/test` does not collect it."""

from __future__ import annotations

import os

collect_ignore_glob = [] if os.environ.get("IMAGE_TAG") else ["test_*.py"]
