"""Operations over supervisord: status, health probes, restarts, log following.

Shared by ``bin/monitor.py``, the ``ctl`` CLI, the health listener (``python -m ops.healthcheck``)
and the API's admin services endpoint. It speaks XML-RPC through ``xmlrpc.client`` and
``supervisor.xmlrpc`` (:mod:`ops.rpc`), probes through ``http.client`` (:mod:`ops.probe`), reads
each program's ``health_check`` from its conf file (:mod:`ops.checks`), and is handed its
:class:`config.config.Settings`.

Exceptions and the exit codes they stand for: :mod:`ops.errors` (``exit_for`` is the one mapping).
"""
