"""Who may do what through the API (README: API tour).

Reads are public unless ``API_READS_REQUIRE_LOGIN``; writes need an authenticated user with the
model permission: 401 without credentials, 403 without the permission. Reviewers, who hold
``change_pledge_status`` but not ``change_pledge``, may PATCH a pledge's status and nothing else.
"""

from django.conf import settings
from rest_framework import permissions
from rest_framework.exceptions import PermissionDenied

STATUS_ONLY_PERMISSION = "pledges.change_pledge_status"


class ReadOrModelPermission(permissions.DjangoModelPermissions):
    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            if settings.API_READS_REQUIRE_LOGIN:
                return bool(request.user and request.user.is_authenticated)
            return True
        return super().has_permission(request, view)


class PledgePermission(ReadOrModelPermission):
    """Adds the reviewers' right to change only the status of a pledge with PATCH."""

    def has_permission(self, request, view):
        if request.method != "PATCH" or not request.user.is_authenticated:
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
