"""The anchor: a bare Django view that only inserts the same conversion row(s) our API inserts.

No token, no validation, no idempotency check, no queue: what Django + PostgreSQL cost on their
own, so the ingest API's figures can be read as a fraction of it.
"""

from __future__ import annotations

import json

from django.http import JsonResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from apps.messaging.models import Conversion


@csrf_exempt
def conversions(request):
    body = json.loads(request.body)
    items = body["items"] if "items" in body else [body]
    rows = Conversion.objects.bulk_create(
        Conversion(message_id=i["message_pk"], status=i["status"], converted_at=parse_datetime(i["converted_at"]))
        for i in items
    )
    if len(rows) == 1:
        return JsonResponse({"result": "created", "id": rows[0].pk}, status=201)
    return JsonResponse({"created": len(rows)})
