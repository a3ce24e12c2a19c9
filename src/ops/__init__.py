"""Operations over the one supervisord: status, health probes, restarts, log following.

Shared by ``bin/monitor.py``, the ``ctl`` CLI and the health listener (``python -m ops.healthcheck``).
Everything here imports only the standard library and ``config`` so the operator path starts fast.

Exceptions (all derive from :class:`ops.errors.OpsError`, which carries the exit code)::

    OpsError
    ├── SupervisorUnreachable        supervisord not running (no socket / refused)     exit 2
    │   └── SupervisorAccessDenied   socket exists but we may not use it              exit 3
    ├── UnknownProgram               no such program in supervisord                    exit 1
    ├── ProgramFailed                a program did not start or did not become healthy exit 1
    └── SupervisorFault              any other fault supervisord answered with         exit 1
"""
