"""The providers' delivery-receipt callbacks. Each answers the way its provider expects, applies
receipts through delivery_apply, and answers 200 for messages smsdash does not know yet (the receipt
is stored and matched later) so the provider does not retry forever (healthchecks'
notification_status). Alibaba and Tencent do not sign their callbacks: their URLs carry a per-account
token instead. Plivo signs with X-Plivo-Signature-V3; a bad signature is refused and logged, a
replayed nonce is acknowledged and ignored.

A body that can never be applied (not JSON, nested past the parser, a field that breaks the input
boundary) is answered 400 in the provider's own shape naming the field and the rule, and nothing is
written: Alibaba retries a non-200 three times (1, 5, 10 minutes) then stops, and the delivery pull
still asks about every message left pending. Unknown messages are not an error: 200, as above.
"""

from __future__ import annotations

import logging

from django.db import DataError, IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.messaging.delivery import formats
from apps.messaging.delivery.services import delivery_apply
from apps.messaging.models import ReceiptSource, WebhookNonce
from apps.providers.models import Provider, ProviderAccount
from smsdash.boundary import text_rule

logger = logging.getLogger(__name__)

SIGNATURE_MISSING = "X-Plivo-Signature-V3 and X-Plivo-Signature-V3-Nonce headers are required."
SIGNATURE_INVALID = "X-Plivo-Signature-V3 does not match this request."
NONCE_RULE = "X-Plivo-Signature-V3-Nonce: {rule}"
NOT_STORED = "The database refused a value of this body."
TENCENT_OK = {"result": 0, "errmsg": "OK"}
ALIYUN_OK = {"code": 0, "msg": "接收成功"}


def webhook_token(account: ProviderAccount) -> str:
    """The secret part of an unsigned provider's callback URL: derived from SECRET_KEY, per account."""
    return salted_hmac("smsdash.delivery.webhook", str(account.pk)).hexdigest()[:32]


def webhook_path(account: ProviderAccount) -> str:
    """The callback path to configure at the provider for this account."""
    if account.provider == Provider.PLIVO:
        return reverse("webhook-plivo-status", args=[account.pk])
    name = "webhook-tencent-status" if account.provider == Provider.TENCENT else "webhook-aliyun-report"
    return reverse(name, args=[account.pk, webhook_token(account)])


def _account(account_id: int, provider: str, token: str | None = None) -> ProviderAccount:
    account = ProviderAccount.objects.filter(pk=account_id, provider=provider).first()
    if account is None or (token is not None and not constant_time_compare(token, webhook_token(account))):
        logger.warning("%s receipt callback for an unknown account or with a wrong token: %s", provider, account_id)
        raise Http404("No such callback.")
    return account


@csrf_exempt
@require_http_methods(["POST"])
def tencent_status(request: HttpRequest, account_id: int, token: str) -> HttpResponse:
    account = _account(account_id, Provider.TENCENT, token)
    try:
        records = formats.parse_tencent(request.body)
        _apply(account, records)
    except (formats.ReceiptFormatError, DataError) as exc:
        return JsonResponse({"result": 1, "errmsg": _refusal(exc)}, status=400)
    return JsonResponse(TENCENT_OK)


@csrf_exempt
@require_http_methods(["POST"])
def aliyun_report(request: HttpRequest, account_id: int, token: str) -> HttpResponse:
    account = _account(account_id, Provider.ALIYUN, token)
    try:
        records = formats.parse_aliyun(request.body)
        _apply(account, records)
    except (formats.ReceiptFormatError, DataError) as exc:
        return JsonResponse({"code": 1, "msg": _refusal(exc)}, status=400, json_dumps_params={"ensure_ascii": False})
    return JsonResponse(ALIYUN_OK, json_dumps_params={"ensure_ascii": False})


def _apply(account: ProviderAccount, records) -> None:
    try:
        delivery_apply(account=account, records=records, source=ReceiptSource.WEBHOOK)
    except DataError as exc:
        # The input boundary should leave the database nothing to refuse; if it still does, the
        # provider gets its 4xx and the log the reason, not a 500 (delivery_apply rolled back).
        logger.error("%s receipts for account %s refused by the database: %s", account.provider, account.pk, exc)
        raise


def _refusal(exc: Exception) -> str:
    return NOT_STORED if isinstance(exc, DataError) else str(exc)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def plivo_status(request: HttpRequest, account_id: int) -> HttpResponse:
    account = _account(account_id, Provider.PLIVO)
    signature = request.headers.get("X-Plivo-Signature-V3", "")
    nonce = request.headers.get("X-Plivo-Signature-V3-Nonce", "")
    if not signature or not nonce:
        logger.warning("Plivo receipt for account %s refused: no signature", account.pk)
        return JsonResponse({"error": SIGNATURE_MISSING}, status=403)
    if broken := text_rule(nonce, max_length=WebhookNonce._meta.get_field("nonce").max_length):
        return JsonResponse({"error": NONCE_RULE.format(rule=broken)}, status=400)
    data = request.POST if request.method == "POST" else request.GET
    params = {key: data.getlist(key) for key in data}
    signed = formats.plivo_v3_valid(
        method=request.method,
        uri=request.build_absolute_uri(),
        params=params if request.method == "POST" else {},
        nonce=nonce,
        auth_token=account.key_secret,
        header=signature,
    )
    if not signed:
        logger.warning("Plivo receipt for account %s refused: bad signature (nonce %r)", account.pk, nonce[:64])
        return JsonResponse({"error": SIGNATURE_INVALID}, status=403)
    try:
        record = formats.parse_plivo({key: values[-1] for key, values in params.items()})
    except formats.ReceiptFormatError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return _apply_plivo_once(account, nonce, record)


def _apply_plivo_once(account: ProviderAccount, nonce: str, record) -> HttpResponse:
    try:
        with transaction.atomic():
            WebhookNonce.objects.create(account=account, nonce=nonce)
            _apply(account, [record])
    except DataError:
        return JsonResponse({"error": NOT_STORED}, status=400)
    except IntegrityError:
        # Same signed request again: it was applied the first time; acknowledge, change nothing.
        logger.warning("Plivo receipt for account %s ignored: nonce %s replayed", account.pk, nonce[:64])
        return JsonResponse({"status": "replayed"})
    return JsonResponse({"status": "ok"})
