"""E.164 phone numbers and the country they belong to (ITU-T E.164 country calling codes).

Longest-prefix match on the calling code. +1 (NANP) and +7 are shared by several countries; the
area codes below tell Canada and Kazakhstan apart, the rest of +1 counts as US.
"""

from __future__ import annotations

import re

# [0-9], not \d: \d matches every script's digits (Arabic-Indic ٤, mathematical 𝟡), no number plan's.
E164_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")
INVALID_PHONE = "Phone must be in E.164 format: + then 7 to 15 digits, no spaces (e.g. +8613800138000)."
UNKNOWN_COUNTRY = "ZZ"

# calling code -> ISO 3166-1 alpha-2
_CODES = """
20 EG 211 SS 212 MA 213 DZ 216 TN 218 LY 220 GM 221 SN 222 MR 223 ML 224 GN 225 CI 226 BF 227 NE
228 TG 229 BJ 230 MU 231 LR 232 SL 233 GH 234 NG 235 TD 236 CF 237 CM 238 CV 239 ST 240 GQ 241 GA
242 CG 243 CD 244 AO 245 GW 248 SC 249 SD 250 RW 251 ET 252 SO 253 DJ 254 KE 255 TZ 256 UG 257 BI
258 MZ 260 ZM 261 MG 262 RE 263 ZW 264 NA 265 MW 266 LS 267 BW 268 SZ 269 KM 27 ZA 290 SH 291 ER
297 AW 298 FO 299 GL 30 GR 31 NL 32 BE 33 FR 34 ES 350 GI 351 PT 352 LU 353 IE 354 IS 355 AL 356 MT
357 CY 358 FI 359 BG 36 HU 370 LT 371 LV 372 EE 373 MD 374 AM 375 BY 376 AD 377 MC 378 SM 380 UA
381 RS 382 ME 383 XK 385 HR 386 SI 387 BA 389 MK 39 IT 40 RO 41 CH 420 CZ 421 SK 423 LI 43 AT
44 GB 45 DK 46 SE 47 NO 48 PL 49 DE 500 FK 501 BZ 502 GT 503 SV 504 HN 505 NI 506 CR 507 PA 508 PM
509 HT 51 PE 52 MX 53 CU 54 AR 55 BR 56 CL 57 CO 58 VE 590 GP 591 BO 592 GY 593 EC 594 GF 595 PY
596 MQ 597 SR 598 UY 599 CW 60 MY 61 AU 62 ID 63 PH 64 NZ 65 SG 66 TH 670 TL 672 NF 673 BN 674 NR
675 PG 676 TO 677 SB 678 VU 679 FJ 680 PW 681 WF 682 CK 683 NU 685 WS 686 KI 687 NC 688 TV 689 PF
690 TK 691 FM 692 MH 7 RU 81 JP 82 KR 84 VN 850 KP 852 HK 853 MO 855 KH 856 LA 86 CN 880 BD 886 TW
90 TR 91 IN 92 PK 93 AF 94 LK 95 MM 960 MV 961 LB 962 JO 963 SY 964 IQ 965 KW 966 SA 967 YE 968 OM
970 PS 971 AE 972 IL 973 BH 974 QA 975 BT 976 MN 977 NP 98 IR 992 TJ 993 TM 994 AZ 995 GE 996 KG
998 UZ 1 US
"""
CALLING_CODES: dict[str, str] = dict(zip(_CODES.split()[::2], _CODES.split()[1::2], strict=True))

CANADA_AREA_CODES = set(
    "204 226 236 249 250 263 289 306 343 354 365 367 368 382 387 403 416 418 428 431 437 438 450 468 474 "
    "506 514 519 548 579 581 584 587 600 604 613 639 647 672 683 705 709 742 753 778 780 782 807 819 825 "
    "867 873 879 902 905".split()
)


def is_e164(phone: str) -> bool:
    return bool(E164_RE.fullmatch(phone or ""))


def country_of(phone: str) -> str:
    """ISO 3166 alpha-2 code of an E.164 number, or ZZ when the calling code is unknown."""
    if not is_e164(phone):
        return UNKNOWN_COUNTRY
    digits = phone[1:]
    if digits.startswith("1"):
        return "CA" if digits[1:4] in CANADA_AREA_CODES else "US"
    if digits.startswith("7"):
        return "KZ" if digits[1] in "67" else "RU"
    for length in (3, 2, 1):
        country = CALLING_CODES.get(digits[:length])
        if country:
            return country
    return UNKNOWN_COUNTRY


def calling_code_of(phone: str) -> str:
    """The country calling code of an E.164 number ('86' for +8613800138000), or '' if unknown."""
    digits = (phone or "").lstrip("+")
    for length in (3, 2, 1):
        if digits[:length] in CALLING_CODES:
            return digits[:length]
    return ""


MASK = "****"


def mask_phone(phone: str) -> str:
    """A phone number as shown to someone not allowed to see it: '+86 138****8000' (the calling code,
    the first 3 and the last 4 digits of the national number). A national number too short to keep 7
    digits keeps only its last 2; a value that is not E.164 keeps only its last 2 characters."""
    if not phone:
        return ""
    if not is_e164(phone):
        return MASK + phone[-2:] if len(phone) > 4 else MASK
    code = calling_code_of(phone)
    national = phone[1 + len(code) :]
    prefix = f"+{code} " if code else "+"
    if len(national) < 9:
        return prefix + MASK + national[-2:]
    return prefix + national[:3] + MASK + national[-4:]
