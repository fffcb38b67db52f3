"""Plivo REST API v1: JSON over HTTP Basic auth (auth_id / auth_token). No template API."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from apps.providers.clients import connection, transport
from apps.providers.clients.base import (
    ConversionOutcome,
    ConversionReport,
    DeliveryPage,
    DeliveryQuery,
    DeliveryRecord,
    DeliveryState,
    ErrorKind,
    ProviderClient,
    ProviderError,
    ReportResult,
    SendRequest,
    SendResult,
    SubmitResult,
    TemplateReview,
    TemplateSubmission,
)

MAX_LIMIT = 20
DEFAULT_SENDER = "smsdash"
NO_TEMPLATE_API = "Plivo has no template API: templates cannot be submitted to or reviewed by Plivo."
STATES = {
    "delivered": DeliveryState.DELIVERED,
    "read": DeliveryState.DELIVERED,
    "failed": DeliveryState.FAILED,
    "undelivered": DeliveryState.FAILED,
    "rejected": DeliveryState.FAILED,
}
CONVERSION_STATUS = {
    ConversionOutcome.CONVERTED: "CONVERTED",
    ConversionOutcome.NOT_CONVERTED: "NOT_CONVERTED",
    ConversionOutcome.CONVERTED_WITH_OTHERS: "CONVERTED_WITH_OTHERS",
}
# Lowercase, unlike the message resources (/v1/Account/{auth_id}/Message/): the path exactly as the
# Conversion Feedback docs give it (https://plivo.com/docs/messaging/concepts/conversion-feedback).
# Whether Plivo also answers other casings is not documented, and the SDK has no conversion call.
CONVERSION_PATH = "/v1/account/{auth_id}/message/{message_uuid}/conversion/"
# The one host the Auth Token may be sent to (endpoints.py): the SDK's PLIVO_API
# (plivo-python rest/base_client.py) and the host of every API page, conversion feedback included.
ENDPOINT_HOSTS = frozenset({"api.plivo.com"})


def parse_time(value: str | None) -> datetime | None:
    """Plivo times: '2017-05-22 21:36:14+05:30' or with microseconds."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    # An aware time is left in its offset: year 1 at +05:30 has no UTC equivalent (OverflowError).
    # delivery_apply drops times outside the input window, converts the rest.
    return parsed if parsed.tzinfo else parsed.astimezone(UTC)


class PlivoClient(ProviderClient):
    provider = "plivo"
    label = "Plivo"
    default_endpoint = "https://api.plivo.com"
    endpoint_hosts = ENDPOINT_HOSTS

    def __init__(self, account, **kwargs):
        super().__init__(account, **kwargs)
        self.base = f"{self.endpoint}/v1/Account/{account.key_id}"

    def authorization(self) -> str:
        return connection.basic_authorization(self.account.key_id, self.account.key_secret)

    def call(self, method: str, path: str, *, json: dict | None = None, params: dict | None = None) -> dict:
        """One call to a resource under the account's base URL (/v1/Account/{auth_id})."""
        return self.call_url(method, self.base + path, json=json, params=params)

    def call_url(self, method: str, url: str, *, json: dict | None = None, params: dict | None = None) -> dict:
        headers = {"User-Agent": transport.USER_AGENT, "Accept": "application/json"}
        response = transport.send(self, method, url, json=json, params=params, headers=headers)
        if response.status_code in (200, 201, 202):
            return transport.json_body(self, response)
        try:
            body = response.json()
        except ValueError:
            body = {}
        error = body.get("error") if isinstance(body, dict) else None
        message = error if isinstance(error, str) else str(error or f"HTTP {response.status_code}")
        raise ProviderError(
            transport.kind_for_status(response.status_code), message, code=str(response.status_code),
            request_id=body.get("api_id", "") if isinstance(body, dict) else "", provider="plivo",
        )  # fmt: skip

    def send_sms(self, request: SendRequest) -> SendResult:
        payload = {
            "src": request.sign_name or DEFAULT_SENDER,
            "dst": request.phone.lstrip("+"),
            "text": request.text,
            "type": "sms",
            "trackable": request.trackable,
        }
        body = self.call("POST", "/Message/", json=payload)
        uuids = body.get("message_uuid") or [""]
        return SendResult(message_id=uuids[0], request_id=body.get("api_id", ""))

    def report_conversion(self, report: ConversionReport) -> ReportResult:
        timestamp = report.converted_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        path = CONVERSION_PATH.format(auth_id=self.account.key_id, message_uuid=report.message_id)
        body = self.call_url(
            "POST",
            self.endpoint + path,
            json={"status": CONVERSION_STATUS[ConversionOutcome(report.outcome)], "timestamp": timestamp},
        )
        return ReportResult(request_id=body.get("api_id", ""))

    def delivery_status(self, query: DeliveryQuery) -> DeliveryPage:
        if query.message_id:
            body = self.call("GET", f"/Message/{query.message_id}/")
            return DeliveryPage(
                [self._record(body)], page=1, total=1, has_more=False, request_id=body.get("api_id", "")
            )
        limit = min(query.page_size, MAX_LIMIT)
        day_start = datetime.combine(query.day, time.min)
        params = {
            "message_direction": "outbound",
            "to_number": query.phone.lstrip("+"),
            "message_time__gte": day_start.strftime("%Y-%m-%d %H:%M:%S"),
            "message_time__lt": (day_start + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S"),
            "limit": limit,
            "offset": (query.page - 1) * limit,
        }
        body = self.call("GET", "/Message/", params=params)
        meta = body.get("meta") or {}
        records = [self._record(row) for row in body.get("objects") or []]
        return DeliveryPage(
            records,
            page=query.page,
            total=meta.get("total_count"),
            has_more=bool(meta.get("next")),
            request_id=body.get("api_id", ""),
        )

    @staticmethod
    def _record(row: dict) -> DeliveryRecord:
        state = STATES.get(row.get("message_state", ""), DeliveryState.PENDING)
        return DeliveryRecord(
            message_id=row.get("message_uuid", ""),
            phone="+" + str(row.get("to_number", "")).lstrip("+"),
            state=state,
            error_code=str(row.get("error_code") or "") if state == DeliveryState.FAILED else "",
            received_at=parse_time(row.get("message_updated_time")) if state == DeliveryState.DELIVERED else None,
            sent_at=parse_time(row.get("message_time")),
        )

    def submit_template(self, submission: TemplateSubmission) -> SubmitResult:
        raise ProviderError(ErrorKind.UNSUPPORTED, NO_TEMPLATE_API, provider="plivo")

    def template_status(self, template_code: str) -> TemplateReview:
        raise ProviderError(ErrorKind.UNSUPPORTED, NO_TEMPLATE_API, provider="plivo")
