"""The providers' template type rules (seed: AddSmsTemplate), in one place.

SmsTemplate.clean() calls check_template(); so do the admin form (through full_clean), the API and
the jobs. Each message names the field and the rule, and tests assert the exact text.
"""

from __future__ import annotations

import re

NAME_MAX = 30
CONTENT_MAX = 500
REMARK_MAX = 100
CODE_VARIABLE = "code"

VARIABLE_RE = re.compile(r"\$\{([^{}]*)\}")
VALID_VARIABLE_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,29}$")

NAME_REQUIRED = "Name is required."
NAME_TOO_LONG = "Name must be at most 30 characters (it has {n})."
CONTENT_REQUIRED = "Content is required."
CONTENT_TOO_LONG = "Content must be at most 500 characters (it has {n})."
REMARK_REQUIRED = "Remark is required: describe the use case for the provider's reviewers."
REMARK_TOO_LONG = "Remark must be at most 100 characters (it has {n})."
BAD_VARIABLE = "Variable ${{{name}}} is not valid: write ${{name}} with letters, digits and _, starting with a letter."
VERIFICATION_ONE_VARIABLE = "A verification-code template must have exactly one variable, ${{code}}; it has {n}{found}."
VERIFICATION_CODE_VARIABLE = "The only variable of a verification-code template must be ${{code}}, not ${{{name}}}."
ENTERPRISE_ONLY = "{type} templates are allowed only on enterprise accounts; {account} is not one."
NO_TEMPLATE_API = "{account} is a Plivo account: Plivo has no template API, so its templates cannot be managed here."


def find_variables(content: str) -> list[str]:
    """Variable names in order of first appearance, each once."""
    seen: dict[str, None] = {}
    for name in VARIABLE_RE.findall(content or ""):
        seen.setdefault(name, None)
    return list(seen)


def check_lengths(*, name: str, content: str, remark: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = NAME_REQUIRED
    elif len(name) > NAME_MAX:
        errors["name"] = NAME_TOO_LONG.format(n=len(name))
    if not content.strip():
        errors["content"] = CONTENT_REQUIRED
    elif len(content) > CONTENT_MAX:
        errors["content"] = CONTENT_TOO_LONG.format(n=len(content))
    if not remark.strip():
        errors["remark"] = REMARK_REQUIRED
    elif len(remark) > REMARK_MAX:
        errors["remark"] = REMARK_TOO_LONG.format(n=len(remark))
    return errors


def check_variables(*, content: str, is_verification: bool) -> str | None:
    variables = find_variables(content)
    for name in variables:
        if not VALID_VARIABLE_NAME_RE.match(name):
            return BAD_VARIABLE.format(name=name)
    if not is_verification:
        return None
    if len(variables) != 1:
        found = ": " + ", ".join(f"${{{v}}}" for v in variables) if variables else ""
        return VERIFICATION_ONE_VARIABLE.format(n=len(variables), found=found)
    if variables[0] != CODE_VARIABLE:
        return VERIFICATION_CODE_VARIABLE.format(name=variables[0])
    return None


def render_preview(content: str, samples: dict[str, str] | None = None) -> str:
    """The content with each ${var} replaced by a sample value, as the recipient would read it."""
    samples = samples or {}
    return VARIABLE_RE.sub(
        lambda m: samples.get(m.group(1), "123456" if m.group(1) == CODE_VARIABLE else m.group(1)), content
    )
