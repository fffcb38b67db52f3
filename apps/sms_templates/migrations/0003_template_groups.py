"""Create the groups "Template authors" and "Template reviewers" with their permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Copied, not imported from roles.py, so this migration keeps meaning what it meant when written.
AUTHORS_GROUP = "Template authors"
REVIEWERS_GROUP = "Template reviewers"
AUTHOR_PERMISSIONS = [
    ("sms_templates", "add_smstemplate"),
    ("sms_templates", "change_smstemplate"),
    ("sms_templates", "view_smstemplate"),
    ("sms_templates", "view_templatetransition"),
]
REVIEWER_PERMISSIONS = [
    ("sms_templates", "review_smstemplate"),
    ("sms_templates", "view_smstemplate"),
    ("sms_templates", "view_templatetransition"),
]


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in ((AUTHORS_GROUP, AUTHOR_PERMISSIONS), (REVIEWERS_GROUP, REVIEWER_PERMISSIONS)):
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in wanted:
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[AUTHORS_GROUP, REVIEWERS_GROUP]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sms_templates", "0002_submission_attempts"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
