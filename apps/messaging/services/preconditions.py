"""Whether a conversion can be reported to its provider at all, and if not, why (in words).

Checked before any call, so an unreportable conversion is stored, counted in the dashboard and
marked skipped with its reason instead of being discovered by a failing request.
"""

from __future__ import annotations

from apps.messaging.models import ConversionStatus
from apps.providers.models import Provider, ProviderAccount

PLIVO_NOT_TRACKABLE = "Plivo counts conversions only for messages sent with trackable=true; this one was not."
TENCENT_NOT_ALLOWLISTED = (
    "Tencent's ReportConversion works only for allowlisted applications; this account is marked as not allowlisted."
)
TENCENT_ONLY_CONVERTED = "Tencent's ReportConversion reports converted codes only; '{status}' is not reported."
ALIBABA_DOMESTIC = (
    "Alibaba's SmsConversion covers international traffic only; messages to mainland China (+86) are not reported."
)
ACCOUNT_INACTIVE = "The provider account is inactive."
# Plain values: this runs once per item of a batch, and each enum member lookup costs a descriptor call.
PLIVO, TENCENT, ALIYUN = Provider.PLIVO.value, Provider.TENCENT.value, Provider.ALIYUN.value
CONVERTED = ConversionStatus.CONVERTED.value


def unreportable_reason(*, account: ProviderAccount, status: str, trackable: bool, country: str) -> str:
    """Empty when the provider can take this report, else the reason it cannot."""
    if not account.is_active:
        return ACCOUNT_INACTIVE
    if account.provider == PLIVO and not trackable:
        return PLIVO_NOT_TRACKABLE
    if account.provider == TENCENT:
        if not account.conversion_allowlisted:
            return TENCENT_NOT_ALLOWLISTED
        if status != CONVERTED:
            return TENCENT_ONLY_CONVERTED.format(status=status)
    if account.provider == ALIYUN and country == "CN":
        return ALIBABA_DOMESTIC
    return ""
