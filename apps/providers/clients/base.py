"""The one interface every provider client implements, and its typed results and errors.

Nothing outside apps/providers/clients/ knows a provider's wire format: callers build the request
dataclasses below, call a ProviderClient method, and get a result dataclass or a ProviderError
whose `kind` tells them what to do (healthchecks' TransportError, with a kind instead of a flag).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from apps.providers.clients import endpoints
from apps.providers.clients.connection import HttpTransport

if TYPE_CHECKING:
    from apps.providers.models import ProviderAccount

CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 10


class ErrorKind(enum.StrEnum):
    AUTH = "auth"  # bad credentials or permission: do not retry, tell the operator
    INVALID = "invalid"  # the request is wrong: do not retry; the message names the parameter
    THROTTLED = "throttled"  # rate limited: retry later
    TRANSIENT = "transient"  # network, timeout, 5xx: retry
    UNSUPPORTED = "unsupported"  # the provider has no such operation (Plivo templates)


class ProviderError(Exception):
    """A provider call failed. Keeps the provider's own code, message and request id."""

    def __init__(self, kind: ErrorKind, message: str, *, code: str = "", request_id: str = "", provider: str = ""):
        super().__init__(message)
        self.kind = ErrorKind(kind)
        self.message = message
        self.code = code
        self.request_id = request_id
        self.provider = provider

    @property
    def retryable(self) -> bool:
        return self.kind in (ErrorKind.THROTTLED, ErrorKind.TRANSIENT)

    def __str__(self) -> str:
        code = f" [{self.code}]" if self.code else ""
        request = f" (request {self.request_id})" if self.request_id else ""
        return f"{self.message}{code}{request}"


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class ReviewState(enum.StrEnum):
    REVIEWING = "reviewing"
    APPROVED = "approved"
    APPROVED_PENDING = "approved_pending"  # Tencent StatusCode 2: approved, not yet effective
    REJECTED = "rejected"
    CANCELLED = "cancelled"  # Alibaba TemplateStatus 10


class ConversionOutcome(enum.StrEnum):
    """Plivo's vocabulary; Alibaba sends Delivered=true only for CONVERTED, Tencent reports only those."""

    CONVERTED = "converted"
    NOT_CONVERTED = "not_converted"
    CONVERTED_WITH_OTHERS = "converted_with_others"


@dataclass(frozen=True)
class SendRequest:
    phone: str  # E.164
    template_code: str = ""
    params: dict[str, str] = field(default_factory=dict)
    text: str = ""  # Plivo: the message body; others render the template
    sign_name: str = ""
    out_id: str = ""
    trackable: bool = True


@dataclass(frozen=True)
class SendResult:
    message_id: str  # Alibaba BizId, Tencent SerialNo, Plivo message_uuid
    request_id: str = ""


@dataclass(frozen=True)
class ConversionReport:
    message_id: str
    phone: str  # E.164
    outcome: ConversionOutcome
    converted_at: datetime  # aware
    sent_at: datetime | None = None


@dataclass(frozen=True)
class ReportResult:
    request_id: str


@dataclass(frozen=True)
class DeliveryQuery:
    """Delivery records for one phone number on one send date, one page at a time.

    `day` is the provider's send date: use `client.send_day(message.sent_at)` (UTC, but China time
    for Alibaba). `delivery_records()` follows the pages; `cursor` carries Tencent's time paging.

    Alibaba: QuerySendDetails(PhoneNumber, SendDate, BizId?, PageSize<=50, CurrentPage).
    Tencent: PullSmsSendStatusByPhoneNumber over that day. Plivo: message detail when message_id
    is given, else the message list filtered by to_number and day.

    `until` makes it a range, `day` to `until` inclusive, for clients whose API takes one
    (ProviderClient.delivery_range_days > 1: Tencent, 7 days). Others answer for `day` alone and
    must not be given one (the pull planner asks for ranges only where delivery_range_days allows).
    """

    phone: str
    day: date
    message_id: str = ""
    page: int = 1
    page_size: int = 50
    cursor: str = ""  # opaque, from the previous DeliveryPage.next_cursor (Tencent pages by time)
    until: date | None = None  # last send date of a range query; None: `day` alone


@dataclass(frozen=True)
class DeliveryRecord:
    message_id: str
    phone: str
    state: DeliveryState
    error_code: str = ""
    received_at: datetime | None = None
    sent_at: datetime | None = None
    template_code: str = ""
    out_id: str = ""
    content: str = ""


@dataclass(frozen=True)
class DeliveryPage:
    records: list[DeliveryRecord]
    page: int
    total: int | None  # None when the provider does not say
    has_more: bool
    request_id: str = ""
    next_cursor: str = ""


@dataclass(frozen=True)
class TemplateSubmission:
    name: str
    type: str  # verification, notification or promotional: for an international template, its kind
    content: str
    remark: str
    international: bool = False  # filed as international (Alibaba TemplateType 3, Tencent International 1)
    sign_name: str = ""  # the sign name the template is sent with (Alibaba CreateSmsTemplate: RelatedSignName)


@dataclass(frozen=True)
class SubmitResult:
    template_code: str
    request_id: str = ""


@dataclass(frozen=True)
class TemplateReview:
    template_code: str
    state: ReviewState
    reason: str = ""
    request_id: str = ""


class ProviderClient:
    """Base class: one instance per account and thread (registry.client_for), with its own keep-alive
    connections (connection.HttpTransport)."""

    provider: str = ""
    label: str = ""  # the provider's name in messages
    default_endpoint: str = ""
    # The only hosts the account's credentials are sent to (https): each client lists its provider's,
    # with the documentation they come from (endpoints.py says why exact names, and the local case).
    endpoint_hosts: frozenset[str] = frozenset()
    # How many send dates one delivery query may span (DeliveryQuery.until): 1 when the provider's
    # API takes a single date (Alibaba SendDate), more when it takes a time range (Tencent).
    delivery_range_days: int = 1

    def __init__(self, account: ProviderAccount, *, timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT)):
        self.account = account
        self.endpoint = (account.endpoint or self.default_endpoint).rstrip("/")
        self.timeout = timeout
        self.http = HttpTransport(timeout=timeout, authorization=self.authorization(), refusal=self.host_refusal)

    def authorization(self) -> str:
        """An Authorization header sent with every request; empty where requests are signed instead."""
        return ""

    @classmethod
    def host_refusal(cls, scheme: str, host: str) -> str:
        """Why this provider's credentials must not go to scheme://host; empty when they may."""
        return endpoints.host_refusal(scheme, host, provider=cls.label, hosts=cls.endpoint_hosts)

    @classmethod
    def endpoint_refusal(cls, url: str) -> str:
        """Why this URL cannot be an endpoint override for this provider; empty when it can."""
        return endpoints.url_refusal(url, provider=cls.label, hosts=cls.endpoint_hosts)

    def send_sms(self, request: SendRequest) -> SendResult:
        raise NotImplementedError

    def report_conversion(self, report: ConversionReport) -> ReportResult:
        raise NotImplementedError

    def delivery_status(self, query: DeliveryQuery) -> DeliveryPage:
        raise NotImplementedError

    def submit_template(self, submission: TemplateSubmission) -> SubmitResult:
        raise NotImplementedError

    def template_status(self, template_code: str) -> TemplateReview:
        raise NotImplementedError

    @classmethod
    def template_needs_sign_name(cls, account: ProviderAccount, template_type: str) -> bool:
        """Whether submitting a template of this type needs the sign name it is sent with."""
        return False

    def send_day(self, sent_at: datetime) -> date:
        """The date under which the provider files a message sent at `sent_at` (DeliveryQuery.day).

        UTC by default; Alibaba files by China Standard Time and overrides this.
        """
        return sent_at.astimezone(UTC).date()

    def delivery_records(self, query: DeliveryQuery, *, max_pages: int = 100) -> list[DeliveryRecord]:
        """Every record for the query, following the provider's paging to the last page."""
        records: list[DeliveryRecord] = []
        for _ in range(max_pages):
            page = self.delivery_status(query)
            records.extend(page.records)
            if not page.has_more:
                break
            query = replace(query, page=query.page + 1, cursor=page.next_cursor)
        return records

    def close(self) -> None:
        self.http.close()
