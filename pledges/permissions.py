"""What the editors' and reviewers' permissions allow, where one check serves several paths
(the admin and the importer alike). A fulfilment record is part of its pledge: who may change
pledges may write records, who may view pledges may read them."""

from django.core.exceptions import PermissionDenied

EDIT_PLEDGES = "pledges.change_pledge"
VIEW_PLEDGES = "pledges.view_pledge"
# An import adds pledges and, through their references (``pledge-<id>``), rewrites any other.
IMPORT_PLEDGES = ("pledges.add_pledge", EDIT_PLEDGES)


def may_import(user) -> bool:
    return bool(user and user.is_active and user.has_perms(IMPORT_PLEDGES))


def check_may_import(user) -> None:
    """Refuse an import on behalf of ``user`` without both permissions (None: the shell's own
    command, run by whoever operates the server)."""
    if user is not None and not may_import(user):
        raise PermissionDenied("Importing pledges needs permission to add and change pledges.")


def may_edit(user) -> bool:
    """Change any field of a pledge (reviewers may change only its status), e.g. revert it to
    an earlier version."""
    return bool(user and user.is_active and user.has_perm(EDIT_PLEDGES))
