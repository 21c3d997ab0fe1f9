"""Checks of a request that every API view makes before it reads the database."""

from rest_framework.exceptions import ValidationError


class QueryGuardMixin:
    """A query string is text: a NUL character in it is refused before it reaches the database
    (PostgreSQL cannot hold one)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        for name, values in request.query_params.lists():
            if any("\x00" in value for value in values) or "\x00" in name:
                raise ValidationError({name: ["Null characters are not allowed."]})
