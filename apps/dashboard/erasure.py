"""Erasing a phone number everywhere smsdash keeps it: messages and receipts
(apps/messaging/erasure.py) and the finished background exports on disk that contain it, whose files
are deleted and whose records say why. Recorded in a PhoneErasure, without the number."""

from __future__ import annotations

import logging
import re

from django.db import transaction
from django.utils import timezone

from apps.dashboard.export_jobs import export_path
from apps.dashboard.models import ExportRecord, ExportState
from apps.messaging.erasure import phone_rows_anonymise
from apps.messaging.models import PhoneErasure

logger = logging.getLogger(__name__)

EXPORT_ERASED = "This file was deleted: it held a phone number erased on request."


def phone_erase(*, phone: str, user) -> PhoneErasure:
    with transaction.atomic():
        counts = phone_rows_anonymise(phone=phone)
        erasure = PhoneErasure.objects.create(erased_by=user, **counts)
    # Files are not transactional: removed once the rows are, so a failure above leaves them in place.
    erasure.exports = _export_files_delete(phone)
    erasure.save(update_fields=["exports"])
    logger.info("phone erasure %s by user %s: %s", erasure.pk, getattr(user, "pk", None), counts)
    return erasure


def _export_files_delete(phone: str) -> int:
    # Not followed by another digit: +8613800138000 must not match inside +86138001380001's line.
    number = re.compile(re.escape(phone) + r"(?![0-9])")
    deleted = 0
    for record in ExportRecord.objects.filter(state=ExportState.DONE).iterator():
        path = export_path(record)
        if not path.exists() or not _holds(path, number):
            continue
        path.unlink(missing_ok=True)
        changes = {"state": ExportState.FAILED, "error": EXPORT_ERASED, "finished_at": timezone.now()}
        ExportRecord.objects.filter(pk=record.pk).update(**changes)
        deleted += 1
    return deleted


def _holds(path, number: re.Pattern) -> bool:
    with open(path, encoding="utf-8", errors="replace") as lines:  # line by line: exports can be large
        return any(number.search(line) for line in lines)
