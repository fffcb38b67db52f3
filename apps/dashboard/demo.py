"""Demo data for `make run`: three provider accounts on the local simulator, a dozen templates in
every state, and 30 days of OTP traffic whose conversion differs by provider and country, with a
one-day dip (Alibaba, China, 9 days ago) that the dashboard should make obvious.

Deterministic (seeded) and idempotent: a second run finds the demo accounts and adds nothing.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.messaging.models import Conversion, ConversionStatus, DeliveryStatus, ReportState, SentMessage
from apps.providers.models import Provider, ProviderAccount
from apps.providers.simulator import defaults as sim
from apps.sms_templates.models import ProviderReviewStatus, SmsTemplate, TemplateStatus, TemplateType

DAYS = 30
DIP_DAYS_AGO = 9
DIP_SEGMENT = (Provider.ALIYUN, "+86")
DIP_FACTOR = 0.45


@dataclass(frozen=True)
class Route:
    """Traffic one account sends to one country: share of daily volume, delivery and conversion."""

    provider: str
    dial: str
    daily: int
    delivered: float
    verified: float  # of delivered messages


ROUTES = [
    Route(Provider.ALIYUN, "+86", 620, 0.97, 0.88),
    Route(Provider.ALIYUN, "+65", 80, 0.95, 0.84),
    Route(Provider.ALIYUN, "+62", 90, 0.86, 0.71),
    Route(Provider.TENCENT, "+86", 380, 0.96, 0.85),
    Route(Provider.TENCENT, "+852", 60, 0.95, 0.83),
    Route(Provider.TENCENT, "+62", 70, 0.80, 0.62),
    Route(Provider.PLIVO, "+1", 210, 0.94, 0.82),
    Route(Provider.PLIVO, "+44", 90, 0.95, 0.84),
    Route(Provider.PLIVO, "+91", 170, 0.83, 0.66),
    Route(Provider.PLIVO, "+55", 70, 0.88, 0.74),
    Route(Provider.PLIVO, "+234", 40, 0.70, 0.38),
]

LOCAL_DIGITS = {
    "+86": ("13", 9),
    "+65": ("9", 7),
    "+62": ("81", 9),
    "+852": ("9", 7),
    "+1": ("212", 7),
    "+44": ("77", 8),
    "+91": ("98", 8),
    "+55": ("119", 8),
    "+234": ("80", 8),
}

DEMO_ACCOUNTS = {
    Provider.ALIYUN: dict(name="Alibaba demo", key=sim.DEMO_ALIYUN_KEY, region="cn-hangzhou", is_enterprise=True),
    Provider.TENCENT: dict(
        name="Tencent demo",
        key=sim.DEMO_TENCENT_KEY,
        region="ap-guangzhou",
        sdk_app_id=sim.DEMO_TENCENT_APP_ID,
        is_enterprise=False,
    ),
    Provider.PLIVO: dict(name="Plivo demo", key=sim.DEMO_PLIVO_AUTH, region="", is_enterprise=False),
}

# (account provider, name, type, status, provider status, code, content)
TEMPLATES = [
    (
        Provider.ALIYUN,
        "Login code",
        TemplateType.VERIFICATION,
        TemplateStatus.APPROVED,
        ProviderReviewStatus.APPROVED,
        "SMS_465100001",
        "Your login code is ${code}. It expires in 5 minutes.",
    ),
    (
        Provider.ALIYUN,
        "登录验证码",
        TemplateType.VERIFICATION,
        TemplateStatus.APPROVED,
        ProviderReviewStatus.APPROVED,
        "SMS_465100002",
        "您的验证码为${code}，5分钟内有效，请勿泄露。",
    ),
    (
        Provider.ALIYUN,
        "Order shipped",
        TemplateType.NOTIFICATION,
        TemplateStatus.PROVIDER_REVIEW,
        ProviderReviewStatus.REVIEWING,
        "SMS_465100003",
        "Your order ${order} has shipped.",
    ),
    (
        Provider.ALIYUN,
        "Spring sale",
        TemplateType.PROMOTIONAL,
        TemplateStatus.REJECTED,
        ProviderReviewStatus.REJECTED,
        "SMS_465100004",
        "Spring sale: 20% off with ${coupon}. Reply TD to unsubscribe.",
    ),
    (
        Provider.ALIYUN,
        "Password reset",
        TemplateType.VERIFICATION,
        TemplateStatus.INTERNALLY_APPROVED,
        ProviderReviewStatus.NONE,
        "",
        "Your password reset code is ${code}.",
    ),
    (
        Provider.ALIYUN,
        "Global login",
        TemplateType.INTERNATIONAL,
        TemplateStatus.SUBMITTED,
        ProviderReviewStatus.NONE,
        "",
        "Your verification code is ${code}.",
    ),
    (
        Provider.TENCENT,
        "腾讯登录验证码",
        TemplateType.VERIFICATION,
        TemplateStatus.APPROVED,
        ProviderReviewStatus.APPROVED,
        "2100001",
        "验证码${code}，用于登录，5分钟内有效。",
    ),
    (
        Provider.TENCENT,
        "Payment notice",
        TemplateType.NOTIFICATION,
        TemplateStatus.AWAITING_REVIEW,
        ProviderReviewStatus.NONE,
        "",
        "Payment of ${amount} received, thank you.",
    ),
    (
        Provider.TENCENT,
        "Delivery window",
        TemplateType.NOTIFICATION,
        TemplateStatus.SENT_BACK,
        ProviderReviewStatus.NONE,
        "",
        "Your parcel arrives ${when}.",
    ),
    (
        Provider.TENCENT,
        "Signup code",
        TemplateType.VERIFICATION,
        TemplateStatus.DRAFT,
        ProviderReviewStatus.NONE,
        "",
        "Welcome! Your signup code is ${code}.",
    ),
    (
        Provider.TENCENT,
        "Old login code",
        TemplateType.VERIFICATION,
        TemplateStatus.WITHDRAWN,
        ProviderReviewStatus.NONE,
        "",
        "Code: ${code}",
    ),
    (
        Provider.TENCENT,
        "Account alert",
        TemplateType.NOTIFICATION,
        TemplateStatus.PROVIDER_REVIEW,
        ProviderReviewStatus.REVIEWING,
        "2100002",
        "New sign-in to your account from ${city}.",
    ),
]

DEMO_SIGN_NAME = "smsdash"  # the sign name demo templates are sent with (Alibaba reviews them together)
REJECTION_REASON = "Promotional content must include the sender's signature and an opt-out that works."


def load_demo(*, messages_scale: float = 1.0, seed: int = 20261123) -> dict[str, int]:
    """Create the demo; returns counts of what it created (all zero when it already exists)."""
    if ProviderAccount.objects.filter(name=DEMO_ACCOUNTS[Provider.ALIYUN]["name"]).exists():
        return {"accounts": 0, "templates": 0, "messages": 0, "conversions": 0}
    rng = random.Random(seed)
    with transaction.atomic():
        accounts = _create_accounts()
        templates = _create_templates(accounts)
        messages, conversions = _create_traffic(rng, accounts, templates, messages_scale)
        _record_past_drops()
    return {
        "accounts": len(accounts),
        "templates": templates["count"],
        "messages": messages,
        "conversions": conversions,
    }


def _record_past_drops() -> None:
    """The drop alerts cron would have recorded over the demo's days (the dip among them)."""
    from apps.dashboard.alerts import drops_record_history
    from apps.dashboard.rollups import floor_hour
    from apps.dashboard.selectors import Filters

    end = floor_hour(timezone.now()).replace(hour=0)
    drops_record_history(Filters(start=end - timedelta(days=DAYS), end=end, granularity="day"))


def simulator_endpoint() -> str:
    return f"http://127.0.0.1:{settings.SIMULATOR_PORT}"


def _create_accounts() -> dict[str, ProviderAccount]:
    accounts = {}
    for provider, spec in DEMO_ACCOUNTS.items():
        key_id, secret = spec["key"]
        accounts[provider] = ProviderAccount.objects.create(
            provider=provider,
            name=spec["name"],
            key_id=key_id,
            key_secret=secret,
            region=spec["region"],
            sdk_app_id=spec.get("sdk_app_id", ""),
            endpoint=simulator_endpoint(),
            is_enterprise=spec["is_enterprise"],
        )
    return accounts


def _create_templates(accounts) -> dict:
    now = timezone.now()
    codes_by_provider: dict[str, list[str]] = {}
    for provider, name, type_, status, review, code, content in TEMPLATES:
        SmsTemplate.objects.create(
            account=accounts[provider],
            name=name,
            type=type_,
            status=status,
            provider_status=review,
            provider_template_code=code,
            content=content,
            sign_name=DEMO_SIGN_NAME,
            remark="Demo template for smsdash.",
            provider_reason=REJECTION_REASON if review == ProviderReviewStatus.REJECTED else "",
            submitted_at=now - timedelta(days=40) if code else None,
        )
        if status == TemplateStatus.APPROVED and type_ == TemplateType.VERIFICATION:
            codes_by_provider.setdefault(provider, []).append(code)
    by_code = {t.provider_template_code: t for t in SmsTemplate.objects.exclude(provider_template_code="")}
    return {"count": len(TEMPLATES), "codes": codes_by_provider, "by_code": by_code}


def _create_traffic(rng, accounts, templates, scale: float) -> tuple[int, int]:
    now = timezone.now()
    # Days start at UTC midnight so that "9 days ago" is one calendar day on the dashboard.
    start = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=DAYS)
    message_count = conversion_count = 0
    for day in range(DAYS + 1):
        day_start = start + timedelta(days=day)
        batch: list[SentMessage] = []
        outcomes: list[tuple[bool, bool, bool]] = []
        for route in ROUTES:
            for _ in range(int(route.daily * scale * rng.uniform(0.85, 1.15))):
                sent_at = day_start + timedelta(seconds=_daytime_seconds(rng))
                if sent_at >= now:
                    continue
                message, verified = _message(rng, route, accounts[route.provider], templates, sent_at, now, day)
                batch.append(message)
                outcomes.append(verified)
        created = SentMessage.objects.bulk_create(batch, batch_size=2000)
        conversions = [
            _conversion(rng, message, outcome, now)
            for message, outcome in zip(created, outcomes, strict=True)
            if outcome[0] or outcome[1]
        ]
        Conversion.objects.bulk_create(conversions, batch_size=2000)
        message_count += len(created)
        conversion_count += len(conversions)
    return message_count, conversion_count


def _daytime_seconds(rng) -> int:
    # Most logins happen in the waking hours: a bell around 14:00 UTC, spread over the day.
    hour = min(23, max(0, int(rng.gauss(14, 5))))
    return hour * 3600 + rng.randrange(3600)


def _message(rng, route: Route, account, templates, sent_at, now, day) -> tuple[SentMessage, tuple[bool, bool, bool]]:
    prefix, digits = LOCAL_DIGITS[route.dial]
    phone = route.dial + prefix + "".join(rng.choice("0123456789") for _ in range(digits))
    codes = templates["codes"].get(route.provider, [])
    code = rng.choice(codes) if codes else ""
    age = now - sent_at
    delivered = rng.random() < route.delivered
    verify_rate = route.verified
    if (route.provider, route.dial) == DIP_SEGMENT and day == DAYS - DIP_DAYS_AGO:
        verify_rate *= DIP_FACTOR
    verified = delivered and rng.random() < verify_rate
    gave_up = not verified and rng.random() < 0.15
    if age < timedelta(minutes=20) and rng.random() < 0.6:
        status, error, received = DeliveryStatus.PENDING, "", None
    elif delivered:
        status, error, received = DeliveryStatus.DELIVERED, "DELIVERED", sent_at + timedelta(seconds=rng.randint(2, 40))
    else:
        status, error, received = DeliveryStatus.FAILED, rng.choice(["MK:0001", "UNDELIV", "IC:0055", "EXPIRED"]), None
    message = SentMessage(
        account=account,
        provider_message_id=_message_id(rng, route.provider),
        phone=phone,
        template=templates["by_code"].get(code),
        template_code=code,
        out_id=f"otp-{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}",
        trackable=True,
        sent_at=sent_at,
        delivery_status=status,
        error_code=error,
        received_at=received,
        content="Your login code is 123456. It expires in 5 minutes.",
    )
    message.country = message.country or _country(phone)
    return message, (verified, gave_up, age < timedelta(hours=1))


def _country(phone: str) -> str:
    from apps.messaging.phone import country_of

    return country_of(phone)


def _message_id(rng, provider: str) -> str:
    if provider == Provider.ALIYUN:
        return f"{rng.randrange(10**14, 10**15)}^{rng.randrange(10**9, 10**10)}"
    if provider == Provider.TENCENT:
        return f"2640:{rng.randrange(10**29, 10**30)}"
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _conversion(rng, message: SentMessage, outcome, now) -> Conversion:
    verified, _gave_up, recent = outcome
    converted_at = min(message.sent_at + timedelta(seconds=rng.randint(8, 180)), now)
    if recent:
        state, request_id, error = ReportState.PENDING, "", ""
    elif rng.random() < 0.01:
        state, request_id, error = (
            ReportState.FAILED,
            "",
            "The provider refused the report: MessageId is unknown (isv.INVALID_PARAMETERS).",
        )
    else:
        state, request_id, error = ReportState.REPORTED, str(uuid.UUID(int=rng.getrandbits(128))).upper(), ""
    return Conversion(
        message=message,
        status=ConversionStatus.CONVERTED if verified else ConversionStatus.NOT_CONVERTED,
        converted_at=converted_at,
        report_state=state,
        report_attempts=0 if state == ReportState.PENDING else 1,
        provider_request_id=request_id,
        last_error=error,
        reported_at=converted_at + timedelta(seconds=2) if request_id else None,
    )
