"""Reads never take SQLite's write lock.

Every request runs in a transaction (``ATOMIC_REQUESTS``). On SQLite a transaction begins
``IMMEDIATE`` (``transaction_mode`` in the settings), taking the write lock at once, so that
concurrent writers wait for each other instead of failing when a read lock cannot be upgraded.
A request with a safe method writes nothing: its transaction begins ``DEFERRED`` instead, a
consistent read that runs beside the one writer (WAL) and never waits for it.
"""

from django.db import connections
from django.http import HttpRequest, HttpResponse

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class DeferredReadTransactions:
    """Middleware: the transactions of safe-method requests begin DEFERRED on SQLite."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in SAFE_METHODS:
            return self.get_response(request)
        changed = []
        for connection in connections.all(initialized_only=False):
            if connection.vendor == "sqlite":
                # Connected first: connecting sets the mode from the settings.
                connection.ensure_connection()
                changed.append((connection, connection.transaction_mode))
                connection.transaction_mode = None  # a plain BEGIN: DEFERRED
        try:
            return self.get_response(request)
        finally:
            for connection, mode in changed:
                connection.transaction_mode = mode
