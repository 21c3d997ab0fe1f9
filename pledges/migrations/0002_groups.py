"""The two teams of the admin: editors write, reviewers read and change a pledge's status."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITED_MODELS = ["donor", "category", "event", "pledge", "pledgeitem", "source"]
READ_ONLY_MODELS = ["exchangerate"]


def codenames_for_editors():
    writes = [f"{action}_{model}" for model in EDITED_MODELS for action in ("add", "change", "delete", "view")]
    return [*writes, "change_pledge_status", *(f"view_{model}" for model in READ_ONLY_MODELS)]


def codenames_for_reviewers():
    views = [f"view_{model}" for model in EDITED_MODELS + READ_ONLY_MODELS]
    return [*views, "change_pledge_status"]


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; groups need them now.
    app_config = apps.get_app_config("pledges")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in (
        ("editors", codenames_for_editors()),
        ("reviewers", codenames_for_reviewers()),
    ):
        group, _ = Group.objects.get_or_create(name=name)
        permissions = Permission.objects.filter(
            content_type__app_label="pledges", codename__in=codenames
        )
        group.permissions.set(permissions)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["editors", "reviewers"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("pledges", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
