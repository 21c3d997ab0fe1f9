from django.apps import AppConfig
from django.db.backends.signals import connection_created


class PledgesConfig(AppConfig):
    name = "pledges"
    verbose_name = "Aid pledges"

    def ready(self) -> None:
        from .expressions import register_sqlite_functions

        connection_created.connect(register_sqlite_functions, dispatch_uid="pledges_sqlite_fns")
