"""Request signing, exactly as each provider specifies it (PROVIDERS.md A.2, A.3, B.2).

Pure functions of their inputs: the clients sign with them and the simulator verifies with them.
The providers' published examples are test vectors in tests/providers/test_signing.py, and the
official SDKs' results are compared with these for the same inputs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

ACS3 = "ACS3-HMAC-SHA256"
TC3 = "TC3-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def percent_encode(value: str) -> str:
    """RFC 3986 as Alibaba wants it: space is %20, * is %2A, ~ stays."""
    return quote(str(value), safe="~")


def sha256_hex(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(
        f"{percent_encode(k)}={percent_encode(v if v is not None else '')}" for k, v in sorted(params.items())
    )


# --- Alibaba RPC signature v1: HMAC-SHA1, SignatureVersion 1.0 --------------------------------


def rpc_string_to_sign(params: Mapping[str, str], method: str) -> str:
    signed = {k: v for k, v in params.items() if k != "Signature" and v is not None}
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical_query(signed))}"


def rpc_signature(params: Mapping[str, str], method: str, secret: str) -> str:
    digest = hmac.new(f"{secret}&".encode(), rpc_string_to_sign(params, method).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# --- Alibaba ACS3-HMAC-SHA256: signature V3 -------------------------------------------------


def acs3_canonical_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    """(CanonicalHeaders, SignedHeaders) for the given headers; same names merge, values sorted."""
    merged: dict[str, list[str]] = {}
    for name, value in headers.items():
        if value is not None:
            merged.setdefault(name.lower(), []).append(str(value).strip())
    names = sorted(merged)
    canonical = "".join(f"{n}:{','.join(sorted(merged[n]))}\n" for n in names)
    return canonical, ";".join(names)


def acs3_signature(
    *, method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str], payload_hash: str, secret: str
) -> tuple[str, str]:
    """(Signature, SignedHeaders) over exactly the headers given (the caller picks which to sign)."""
    canonical_headers, signed_headers = acs3_canonical_headers(headers)
    canonical_request = "\n".join(
        [method.upper(), path or "/", canonical_query(query), canonical_headers, signed_headers, payload_hash]
    )
    string_to_sign = f"{ACS3}\n{sha256_hex(canonical_request)}"
    signature = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
    return signature, signed_headers


def acs3_authorization(key_id: str, signed_headers: str, signature: str) -> str:
    return f"{ACS3} Credential={key_id},SignedHeaders={signed_headers},Signature={signature}"


def acs3_signed_header_names(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers a client signs: host, content-type and every x-acs-* header."""
    return {k: v for k, v in headers.items() if k.lower() in ("host", "content-type") or k.lower().startswith("x-acs-")}


# --- Tencent TC3-HMAC-SHA256 ----------------------------------------------------------------


def _hmac256(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def tc3_date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).date().isoformat()  # strftime cost 3.5 times as much


def tc3_string_to_sign(
    *,
    method: str,
    query: str,
    headers: Mapping[str, str],
    signed_headers: str,
    payload: bytes,
    timestamp: int,
    service: str,
) -> str:
    lowered = {k.lower(): str(v).strip() for k, v in headers.items()}
    names = signed_headers.split(";")
    canonical_headers = "".join(f"{n}:{lowered.get(n, '')}\n" for n in names)
    canonical_request = "\n".join([method.upper(), "/", query, canonical_headers, signed_headers, sha256_hex(payload)])
    scope = f"{tc3_date(timestamp)}/{service}/tc3_request"
    return f"{TC3}\n{timestamp}\n{scope}\n{sha256_hex(canonical_request)}"


def tc3_signature(secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    secret_date = _hmac256(f"TC3{secret_key}".encode(), date)
    secret_service = _hmac256(secret_date, service)
    secret_signing = _hmac256(secret_service, "tc3_request")
    return hmac.new(secret_signing, string_to_sign.encode(), hashlib.sha256).hexdigest()


def tc3_authorization(secret_id: str, date: str, service: str, signed_headers: str, signature: str) -> str:
    scope = f"{date}/{service}/tc3_request"
    return f"{TC3} Credential={secret_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"


def parse_authorization(value: str, algorithm: str) -> dict[str, str]:
    """`ALG Credential=..,SignedHeaders=..,Signature=..` (with or without spaces) -> dict; {} if malformed."""
    if not value.startswith(algorithm + " "):
        return {}
    parts = {}
    for item in value[len(algorithm) + 1 :].split(","):
        name, sep, val = item.strip().partition("=")
        if sep:
            parts[name] = val
    return parts if {"Credential", "SignedHeaders", "Signature"} <= parts.keys() else {}
