"""The admin's action log kept each message's and receipt's name as it was then, number in full; the
names now mask it, and this masks the ones already logged."""

import re

from django.db import migrations

from apps.messaging.phone import mask_phone

E164_IN_TEXT = re.compile(r"\+[1-9][0-9]{6,14}(?![0-9])")


def mask_logged_names(apps, schema_editor):
    LogEntry = apps.get_model("admin", "LogEntry")
    entries = LogEntry.objects.filter(
        content_type__app_label="messaging", content_type__model__in=["sentmessage", "deliveryreceipt"]
    )
    for entry in entries.only("pk", "object_repr").iterator():
        masked = E164_IN_TEXT.sub(lambda found: mask_phone(found.group()), entry.object_repr)
        if masked != entry.object_repr:
            LogEntry.objects.filter(pk=entry.pk).update(object_repr=masked)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0005_phone_erasure"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(mask_logged_names, migrations.RunPython.noop)]
