"""The providers' published signing examples (PROVIDERS.md §D) as test vectors, and the official SDKs'
signing functions (test-only dev extras) as oracles: same inputs, same signature."""

from __future__ import annotations

import random
import string

from apps.providers.clients import signing

RPC_DOC_PARAMS = {
    "Timestamp": "2016-02-23T12:46:24Z",
    "Format": "XML",
    "AccessKeyId": "testid",
    "Action": "DescribeRegions",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
    "Version": "2014-05-26",
    "SignatureVersion": "1.0",
}
ACS3_DOC_HEADERS = {
    "host": "ecs.cn-shanghai.aliyuncs.com",
    "x-acs-action": "RunInstances",
    "x-acs-version": "2014-05-26",
    "x-acs-date": "2023-10-26T10:22:32Z",
    "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
    "x-acs-content-sha256": signing.EMPTY_SHA256,
}
ACS3_DOC_QUERY = {"ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd", "RegionId": "cn-shanghai"}
TC3_DOC_BODY = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
TC3_DOC_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"


def test_alibaba_rpc_signature_matches_the_documented_example():
    expected_string = (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1"
        "%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0"
        "%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
    )
    assert signing.rpc_string_to_sign(RPC_DOC_PARAMS, "GET") == expected_string
    assert signing.rpc_signature(RPC_DOC_PARAMS, "GET", "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    assert signing.rpc_signature(RPC_DOC_PARAMS, "POST", "testsecret") == "MxbnVAM4w6sft9xjVpe/GCKueuk="


def test_alibaba_rpc_signature_matches_the_sdk_unit_test():
    assert signing.rpc_signature({"query": "test", "body": "test"}, "GET", "secret") == "XlUyV4sXjOuX5FnjUz9IF9tm5rU="


def test_alibaba_percent_encoding_follows_the_provider_rules():
    assert signing.percent_encode("a b*c~d/é") == "a%20b%2Ac~d%2F%C3%A9"


def test_alibaba_acs3_signature_matches_the_documented_example():
    signature, signed = signing.acs3_signature(
        method="POST",
        path="/",
        query=ACS3_DOC_QUERY,
        headers=ACS3_DOC_HEADERS,
        payload_hash=signing.EMPTY_SHA256,
        secret="YourAccessKeySecret",
    )
    assert signature == "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    assert signing.acs3_authorization("YourAccessKeyId", signed, signature) == (
        "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;"
        "x-acs-date;x-acs-signature-nonce;x-acs-version,"
        "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    )


def test_alibaba_acs3_signature_matches_the_sdk_unit_test_with_repeated_headers():
    signature, signed = signing.acs3_signature(
        method="GET",
        path="",
        query={"test": "ok", "empty": ""},
        headers={"x-acs-test": "http", "x-acs-TEST": "https"},
        payload_hash="55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23",
        secret="secret",
    )
    assert signed == "x-acs-test"
    assert signature == "d16b30a7699ae9e43875b13195b2f81bcc3ed10c14a9b5eb780e51619aa50be1"


def _tc3_doc_string_to_sign(method="POST", query="", content_type="application/json; charset=utf-8", body=None):
    return signing.tc3_string_to_sign(
        method=method,
        query=query,
        headers={"Content-Type": content_type, "Host": "cvm.tencentcloudapi.com"},
        signed_headers="content-type;host",
        payload=TC3_DOC_BODY if body is None else body,
        timestamp=1551113065,
        service="cvm",
    )


def test_tencent_tc3_signature_matches_the_documented_example():
    string_to_sign = _tc3_doc_string_to_sign()
    assert string_to_sign == (
        "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )
    signature = signing.tc3_signature(TC3_DOC_KEY, "2019-02-25", "cvm", string_to_sign)
    assert signature == "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    assert signing.tc3_authorization(
        "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "2019-02-25", "cvm", "content-type;host", signature
    ) == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


def test_tencent_tc3_get_signature_matches_the_computed_example():
    string_to_sign = _tc3_doc_string_to_sign("GET", "Limit=10&Offset=0", "application/x-www-form-urlencoded", b"")
    signature = signing.tc3_signature(TC3_DOC_KEY, "2019-02-25", "cvm", string_to_sign)
    assert signature == "9867b291561db17491c01f0d7f06be3ccd45e91ecd3ce5434330e00ece036f64"


def test_authorization_headers_parse_with_and_without_spaces():
    assert signing.parse_authorization("ACS3-HMAC-SHA256 Credential=a,SignedHeaders=b,Signature=c", signing.ACS3) == {
        "Credential": "a",
        "SignedHeaders": "b",
        "Signature": "c",
    }
    assert signing.parse_authorization("TC3-HMAC-SHA256 Credential=a/x, SignedHeaders=b, Signature=c", signing.TC3)
    assert signing.parse_authorization("TC3-HMAC-SHA256 Credential=a", signing.TC3) == {}


# --- the official SDKs as oracles (dev extras only; never imported by the application) -----------


def _random_params(rng: random.Random) -> dict[str, str]:
    alphabet = string.ascii_letters + string.digits + " *~-_.+/=&%:中文é"
    return {
        "".join(rng.choices(string.ascii_letters, k=rng.randint(1, 8))): "".join(
            rng.choices(alphabet, k=rng.randint(0, 20))
        )
        for _ in range(rng.randint(1, 8))
    }


def test_our_alibaba_rpc_signature_equals_the_sdks_for_random_inputs():
    from alibabacloud_openapi_util.client import Client as sdk

    rng = random.Random(7)
    for _ in range(200):
        params, secret = _random_params(rng), "".join(rng.choices(string.printable, k=16))
        method = rng.choice(["GET", "POST"])
        assert signing.rpc_signature(params, method, secret) == sdk.get_rpcsignature(params, method, secret)


def test_our_alibaba_acs3_signature_equals_the_sdks_for_random_inputs():
    from alibabacloud_openapi_util.client import Client as sdk
    from Tea.request import TeaRequest

    rng = random.Random(11)
    for _ in range(200):
        request = TeaRequest()
        request.method = rng.choice(["GET", "POST"])
        request.pathname = "/"
        request.query = _random_params(rng)
        request.headers = {f"x-acs-{k.lower()}": v for k, v in _random_params(rng).items()}
        request.headers["host"] = "dysmsapi.aliyuncs.com"
        payload = signing.sha256_hex(rng.randbytes(rng.randint(0, 64)))
        expected = sdk.get_authorization(request, signing.ACS3, payload, "ak", "secret-key")
        signature, signed = signing.acs3_signature(
            method=request.method,
            path="/",
            query=request.query,
            headers=request.headers,
            payload_hash=payload,
            secret="secret-key",
        )
        assert signing.acs3_authorization("ak", signed, signature) == expected


def test_our_tencent_tc3_signature_equals_the_sdks():
    from tencentcloud.common.sign import Sign as sign

    rng = random.Random(5)
    for _ in range(100):
        secret = "".join(rng.choices(string.ascii_letters + string.digits, k=32))
        string_to_sign = _tc3_doc_string_to_sign(body=rng.randbytes(rng.randint(0, 100)))
        ours = signing.tc3_signature(secret, "2019-02-25", "sms", string_to_sign)
        assert ours == sign.sign_tc3(secret, "2019-02-25", "sms", string_to_sign)
