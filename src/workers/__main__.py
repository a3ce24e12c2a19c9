"""``python -m workers run MODULE:CLASS [options]``: see ``workers.cli``."""

from workers.cli import exit_now, main

if __name__ == "__main__":
    exit_now(main())
