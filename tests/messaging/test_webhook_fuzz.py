"""Fuzz the three receipt webhooks through their real Django views, as a broken or hostile sender would.

hypothesis generates bodies around each provider's documented receipt (PROVIDERS.md A.6, B.5, C.4):
fields that are right, missing, of the wrong type, with NUL and other control characters, lone
surrogates, non-ASCII digits, huge numbers and times out of range (year 1, year 9999); arrays and
objects nested past the JSON parser; bytes that are not UTF-8. Plivo's forms are signed with the
account's token (signature V3), so they reach the parser; some go with a forged or non-ASCII
signature, or a hostile nonce. Each example runs in a savepoint rolled back afterwards, so none sees
another's rows. Every answer must be below 500 and in the provider's shape; a 4xx must have written
nothing; whatever a 2xx stored must pass the input boundary (NUL only fails on PostgreSQL: the suite
runs on both databases). The fixed seed and bounded examples keep it repeatable and under ~30 s.
"""

from __future__ import annotations

import json
from collections import Counter
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.http import QueryDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.messaging.delivery import formats, screening, webhooks
from apps.messaging.models import DeliveryReceipt, SentMessage, WebhookNonce
from apps.providers.models import Provider
from smsdash.boundary import moment_rule
from tests.factories import make_account, make_message

pytestmark = pytest.mark.django_db

EXAMPLES = 150  # per provider

# Text a wire can carry, hostile characters included: every code point, surrogates too.
ANY_CHAR = st.characters(codec=None, categories=None)
HOSTILE = st.sampled_from(["\x00", "\ud800", "\udfff", "\x07", "\x1b", "\x85", "\u202e", "٢", "𝟡", "\n", " "])
NOISE = st.text(ANY_CHAR | HOSTILE, max_size=80)
# Times a provider could write (year 1 and 9999 included: outside the input window, not malformed),
# and times no parser reads.
TIMES = st.sampled_from(
    ["2026-11-23 16:00:00", "0001-01-01 00:00:00", "9999-12-31 23:59:59", "1999-12-31 23:59:59",
     "2026-11-23 16:00:00.123456", ""]
)  # fmt: skip
BAD_TIMES = st.sampled_from(["0000-00-00 00:00:00", "2026-13-45 99:99:99", "1-01-01 00:00:00", "2026-11-23T16:00:00Z"])
NUMBERS = st.integers(min_value=-(10**120), max_value=10**120) | st.floats(allow_nan=True, allow_infinity=True)
SCALARS = st.none() | st.booleans() | NUMBERS | NOISE
JSON_VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NOISE, inner, max_size=3)
)


def spoiled(good: st.SearchStrategy) -> st.SearchStrategy:
    """A plausible value with a hostile character before or after it."""
    return st.builds("{}{}".format, good, HOSTILE) | st.builds("{}{}".format, HOSTILE, good)


HOSTILE_VALUES = st.one_of(BAD_TIMES, NOISE, JSON_VALUES)


def receipt(fields: dict) -> st.SearchStrategy:
    """A receipt as documented, then up to two fields replaced by a hostile value (or the field's
    value spoiled) and up to one left out: most receipts are nearly right, so the apply path runs."""
    keys = sorted(fields)
    hostile = {key: st.one_of(HOSTILE_VALUES, spoiled(good)) for key, good in fields.items()}
    replaced = st.lists(st.sampled_from(keys), max_size=2, unique=True).flatmap(
        lambda chosen: st.fixed_dictionaries({key: hostile[key] for key in chosen})
    )
    left_out = st.sets(st.sampled_from(keys), max_size=1)

    def build(base: dict, changes: dict, drop: set) -> dict:
        return {key: value for key, value in {**base, **changes}.items() if key not in drop}

    return st.builds(build, st.fixed_dictionaries(fields), replaced, left_out)


ALIYUN_RECEIPT = receipt(
    {
        "phone_number": st.sampled_from(["13811112222", "+447700900123", "1381111****"]),
        "send_time": TIMES,
        "report_time": TIMES,
        "success": st.sampled_from([True, False, "true", 1]),
        "err_code": st.sampled_from(["DELIVERED", "IC:0001", "MK:0005"]),
        "err_msg": st.just("用户接收成功"),
        "sms_size": st.just("1"),
        "biz_id": st.sampled_from(["777^0", "778^0", "unknown^0"]),
        "out_id": st.sampled_from(["", "login-1"]),
    }
)
TENCENT_RECEIPT = receipt(
    {
        "user_receive_time": TIMES,
        "nationcode": st.sampled_from(["86", "44", ""]),
        "mobile": st.sampled_from(["13800000001", "+8613800000001", "7700900123"]),
        "report_status": st.sampled_from(["SUCCESS", "FAIL"]),
        "errmsg": st.sampled_from(["DELIVRD", "MK:0005"]),
        "description": st.just("delivered"),
        "sid": st.sampled_from(["sid-1", "sid-2", "sid-unknown"]),
    }
)


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def json_bytes(value, ascii_only: bool) -> bytes:
    # surrogatepass: a lone surrogate goes out as the invalid UTF-8 a broken sender would write.
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def bodies(receipts: st.SearchStrategy) -> st.SearchStrategy:
    documented = st.builds(json_bytes, st.lists(receipts, max_size=3), st.booleans())
    other_json = st.builds(json_bytes, JSON_VALUES, st.booleans())
    deep = st.builds(nested, st.sampled_from([900, 5_000, 100_000]))
    huge = st.builds(lambda n: b'[{"biz_id": ' + b"9" * n + b', "sid": 1e999999}]', st.integers(4000, 20_000))
    return st.one_of(documented, documented, documented, documented, other_json, deep, huge, st.binary(max_size=200))


PLIVO_FORM = receipt(
    {
        "MessageUUID": st.sampled_from(["uuid-1", "uuid-2", "uuid-unknown"]),
        "Status": st.sampled_from(["queued", "sent", "delivered", "undelivered", "failed", "read"]),
        "To": st.sampled_from(["14155552222", "+14155552222"]),
        "From": st.just("14155551111"),
        "ErrorCode": st.sampled_from(["", "30", "200"]),
        "DeliveryReportTime": TIMES,
        "Units": st.just("1"),
    }
).map(lambda form: {key: v if isinstance(v, str) else json.dumps(v) for key, v in form.items()})
SIGNING = st.sampled_from(["signed", "signed", "signed", "signed", "forged", "unsigned", "non-ascii"])
DIGITS = st.from_regex(r"\A[0-9]{5,20}\Z")
NONCES = st.one_of(DIGITS, DIGITS, DIGITS, NOISE.filter(bool), st.text(min_size=129, max_size=140))


def snapshot() -> tuple:
    return (
        list(DeliveryReceipt.objects.order_by("pk").values_list()),
        list(SentMessage.objects.order_by("pk").values_list("delivery_status", "error_code", "received_at")),
        WebhookNonce.objects.count(),
    )


def stored_rows_pass_the_boundary() -> bool:
    for receipt_row in DeliveryReceipt.objects.all():
        texts = [receipt_row.provider_message_id, receipt_row.error_code, receipt_row.out_id]
        if any(screening.id_rule(t) for t in texts) or screening.phone_rule(receipt_row.phone):
            return False
        if any(t and moment_rule(t) for t in (receipt_row.sent_at, receipt_row.received_at)):
            return False
    for message in SentMessage.objects.all():
        if screening.code_rule(message.error_code) or (message.received_at and moment_rule(message.received_at)):
            return False
    return True


def in_provider_shape(provider: str, response) -> bool:
    body = response.json()
    ok = response.status_code == 200
    if provider == Provider.ALIYUN:
        return body == webhooks.ALIYUN_OK if ok else type(body["code"]) is int and body["code"] != 0
    if provider == Provider.TENCENT:
        return body == webhooks.TENCENT_OK if ok else type(body["result"]) is int and body["result"] != 0
    # Plivo asks only for a 2xx; our refusals say why.
    return 200 <= response.status_code < 300 or isinstance(body.get("error"), str)


def check(provider: str, send, answers: Counter) -> int:
    """Send one request in a savepoint rolled back afterwards; check the answer and what it wrote."""
    with transaction.atomic():
        before = snapshot()
        response = send()
        answers[(provider, response.status_code)] += 1
        assert response.status_code < 500, response.content[:300]
        assert in_provider_shape(provider, response), response.content[:300]
        if response.status_code >= 400:
            assert snapshot() == before, "a refused request wrote something"
        assert stored_rows_pass_the_boundary()
        transaction.set_rollback(True)
    return response.status_code


def fuzz_settings(test):
    return settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )(test)


@pytest.fixture
def known_messages(db):
    """Messages the generated receipts can be about, so the apply path runs too."""
    accounts = {provider: make_account(provider) for provider in Provider}
    for message_id, phone in [("777^0", "+8613811112222"), ("778^0", "+447700900123")]:
        make_message(accounts[Provider.ALIYUN], provider_message_id=message_id, phone=phone, out_id="login-1")
    for message_id in ("sid-1", "sid-2"):
        make_message(accounts[Provider.TENCENT], provider_message_id=message_id, phone="+8613800000001")
    for message_id in ("uuid-1", "uuid-2"):
        make_message(accounts[Provider.PLIVO], provider_message_id=message_id, phone="+14155552222")
    return accounts


@pytest.fixture(scope="module")
def answers():
    counts: Counter = Counter()
    yield counts
    print(f"\nwebhook fuzz: {sum(n for (p, _), n in counts.items() if p in Provider)} requests")
    for (provider, status), count in sorted(counts.items()):
        print(f"  {provider:8} {status} {count}")


@pytest.mark.parametrize(
    ("provider", "receipts"), [(Provider.ALIYUN, ALIYUN_RECEIPT), (Provider.TENCENT, TENCENT_RECEIPT)]
)
def test_fuzzed_json_receipts_get_no_server_error_and_the_providers_answer(
    client, known_messages, answers, provider, receipts
):
    url = webhooks.webhook_path(known_messages[provider])
    seen: Counter = Counter()

    @fuzz_settings
    @given(body=bodies(receipts))
    def run(body: bytes):
        check(provider, lambda: client.post(url, body, content_type="application/json"), seen)

    run()
    answers.update(seen)
    assert seen[(provider, 200)] and seen[(provider, 400)], seen  # both paths were reached
    assert sum(seen.values()) == EXAMPLES


def plivo_request(client, account, method: str, form: dict, signing: str, nonce: str):
    """Plivo's callback as a POST form or a GET query (C.4), signed over what Django will read
    (invalid UTF-8 replaced), as Plivo signs what it sends."""
    url = webhooks.webhook_path(account)
    encoded = urlencode(form, encoding="utf-8", errors="surrogatepass")
    if method == "GET":
        url, body = f"{url}?{encoded}", ""
        base = formats.plivo_v3_base("GET", f"http://testserver{url}", {})
    else:
        body = encoded
        params = {key: values for key, values in QueryDict(body).lists()}
        base = formats.plivo_v3_base("POST", f"http://testserver{url}", params)
    signature = {
        "signed": formats.plivo_v3_signature(base=base, nonce=nonce, auth_token=account.key_secret),
        "forged": formats.plivo_v3_signature(base=base, nonce=nonce, auth_token="someone-else"),
        "non-ascii": "é" * 44,
        "unsigned": "",
    }[signing]
    headers = {"X-Plivo-Signature-V3": signature, "X-Plivo-Signature-V3-Nonce": nonce} if signature else {}
    if method == "GET":
        return client.get(url, headers=headers)
    return client.post(url, body, content_type="application/x-www-form-urlencoded", headers=headers)


def test_fuzzed_plivo_callbacks_get_no_server_error_and_a_2xx_or_a_stated_refusal(client, known_messages, answers):
    account = known_messages[Provider.PLIVO]
    seen: Counter = Counter()
    by_method: Counter = Counter()

    @fuzz_settings
    @given(method=st.sampled_from(["POST", "POST", "GET"]), form=PLIVO_FORM, signing=SIGNING, nonce=NONCES)
    def run(method: str, form: dict, signing: str, nonce: str):
        status = check(Provider.PLIVO, lambda: plivo_request(client, account, method, form, signing, nonce), seen)
        by_method[(method, status)] += 1

    run()
    answers.update(seen)
    answers.update({(f"plivo {method}", status): count for (method, status), count in by_method.items()})
    assert seen[(Provider.PLIVO, 200)] and seen[(Provider.PLIVO, 400)] and seen[(Provider.PLIVO, 403)], seen
    assert by_method[("GET", 200)] and by_method[("POST", 200)], by_method  # both signed paths reach the parser
    assert sum(seen.values()) == EXAMPLES
