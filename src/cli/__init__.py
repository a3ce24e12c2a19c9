"""The ``ctl`` command line: ``python -m cli.ctl`` or the ``ctl`` console script."""
