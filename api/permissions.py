"""Who may do what through the API (README: API tour).

Reads are public unless ``API_READS_REQUIRE_LOGIN``; writes need an authenticated user with the
model permission: 401 without credentials, 403 without the permission. Reviewers, who hold
``change_pledge_status`` but not ``change_pledge``, may PATCH a pledge's status and nothing else.
A fulfilment record is part of its pledge, as its items and sources are: writing one (adding,
changing or deleting it) needs the permission to change pledges.
A method that a view does not answer is let through to DRF's 405, whoever asks.
"""

from django.conf import settings
from rest_framework import permissions
from rest_framework.exceptions import PermissionDenied

STATUS_ONLY_PERMISSION = "pledges.change_pledge_status"
EDIT_PLEDGES = "pledges.change_pledge"
VIEW_PLEDGE_PERMISSION = "pledges.view_pledge"


def answers(request, view) -> bool:
    """Whether ``view`` has a handler for the request's method (otherwise: 405)."""
    method = request.method.lower()
    return method in view.http_method_names and hasattr(view, method)


def may_read(request) -> bool:
    if settings.API_READS_REQUIRE_LOGIN:
        return bool(request.user and request.user.is_authenticated)
    return True


def may_see_editors(user) -> bool:
    """Who changed a record is shown only to signed-in users allowed to view pledges: to
    others, a list of usernames would be a list of accounts to guess passwords for."""
    return bool(user and user.is_authenticated and user.has_perm(VIEW_PLEDGE_PERMISSION))


class ReadOnly(permissions.BasePermission):
    """Views that only read (the schema, Swagger UI): read like the API; other methods 405."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return may_read(request)
        return True


class ReadOrModelPermission(permissions.DjangoModelPermissions):
    def has_permission(self, request, view):
        if not hasattr(view, request.method.lower()):
            return True  # a method the view does not have: it answers 405, whoever asks
        if request.method in permissions.SAFE_METHODS:
            return may_read(request)
        if not answers(request, view):
            return True
        return super().has_permission(request, view)


class PledgePermission(ReadOrModelPermission):
    """Adds the reviewers' right to change only the status of a pledge with PATCH."""

    def has_permission(self, request, view):
        if (
            request.method != "PATCH"
            or not request.user.is_authenticated
            or not answers(request, view)
        ):
            return super().has_permission(request, view)
        if request.user.has_perm("pledges.change_pledge"):
            return True
        if not request.user.has_perm(STATUS_ONLY_PERMISSION):
            return False
        others = sorted(set(request.data) - {"status"}) if hasattr(request.data, "keys") else []
        if others:
            raise PermissionDenied(
                "You may change only the status of a pledge, not: " + ", ".join(others) + "."
            )
        return True


class FulfilmentPermission(ReadOrModelPermission):
    """Records are written by those who may change pledges (editors), read like pledges."""

    perms_map = {
        **ReadOrModelPermission.perms_map,
        **{method: [EDIT_PLEDGES] for method in ("POST", "PUT", "PATCH", "DELETE")},
    }
