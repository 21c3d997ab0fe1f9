"""Read replicas (README: Settings): with ``DATABASE_REPLICA_URL`` set, reads go to the ``replica``
database and writes to ``default``, the primary. A request that writes (an unsafe method, or any
write routed during it) and every admin request read from the primary for the rest of the
request, so that nobody reads past their own write through the replica's lag."""

from contextvars import ContextVar

REPLICA = "replica"
PRIMARY = "default"
WRITING_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

_on_primary: ContextVar[bool] = ContextVar("reads_on_primary", default=False)


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        return PRIMARY if _on_primary.get() else REPLICA

    def db_for_write(self, model, **hints):
        _on_primary.set(True)
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica holds the same rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY


class PrimaryForWritesMiddleware:
    """Each request starts on the replica, unless it writes or is the admin's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _on_primary.set(
            request.method in WRITING_METHODS or request.path.startswith("/admin/")
        )
        try:
            return self.get_response(request)
        finally:
            _on_primary.reset(token)
