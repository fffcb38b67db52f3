"""The template form: the model's rules on save, and the same rules as data for the live checks."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.providers.models import Provider, ProviderAccount
from apps.sms_templates import rules
from apps.sms_templates.models import SmsTemplate, TemplateType, allowed_types
from smsdash.boundary import BoundaryFormMixin

COMMENT_MAX = 2000


def template_accounts(instance: SmsTemplate | None = None):
    """Accounts a template may belong to: active ones with a template API (never Plivo)."""
    accounts = ProviderAccount.objects.filter(is_active=True).exclude(provider=Provider.PLIVO)
    if instance is not None and instance.account_id:
        accounts = accounts | ProviderAccount.objects.filter(pk=instance.account_id)
    return accounts.distinct()


def rules_config(accounts) -> dict[str, Any]:
    """What template_form.js needs to show the rules while typing; messages are rules.py's, with
    their placeholders left for the script to fill."""
    return {
        "limits": {"name": rules.NAME_MAX, "content": rules.CONTENT_MAX, "remark": rules.REMARK_MAX},
        "codeVariable": rules.CODE_VARIABLE,
        "codeSample": rules.render_preview("${" + rules.CODE_VARIABLE + "}"),
        "verificationType": TemplateType.VERIFICATION.value,
        "accountTypes": {str(a.pk): [t.value for t in allowed_types(a)] for a in accounts},
        "messages": {
            "name": rules.NAME_TOO_LONG.format(n="{n}"),
            "content": rules.CONTENT_TOO_LONG.format(n="{n}"),
            "remark": rules.REMARK_TOO_LONG.format(n="{n}"),
            "badVariable": rules.BAD_VARIABLE.format(name="{name}"),
            "oneVariable": rules.VERIFICATION_ONE_VARIABLE.format(n="{n}", found="{found}"),
            "codeVariable": rules.VERIFICATION_CODE_VARIABLE.format(name="{name}"),
        },
    }


class SmsTemplateForm(BoundaryFormMixin, forms.ModelForm):
    class Meta:
        model = SmsTemplate
        fields = ["account", "type", "international_kind", "name", "content", "sign_name", "remark"]
        widgets = {
            "content": forms.Textarea(attrs={"rows": 5, "cols": 80}),
            "remark": forms.TextInput(attrs={"size": 80}),
        }

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if "account" in self.fields:
            self.fields["account"].queryset = template_accounts(self.instance if self.instance.pk else None)
            self.fields["account"].help_text = "Plivo accounts are not offered: Plivo has no template API."

    def clean_content(self) -> str:
        # Browsers send newlines as CRLF; count them as the providers and the live counter do.
        return (self.cleaned_data.get("content") or "").replace("\r\n", "\n")


class WorkflowCommentForm(BoundaryFormMixin, forms.Form):
    comment = forms.CharField(required=False, max_length=COMMENT_MAX, widget=forms.Textarea(attrs={"rows": 3}))


class SendBackForm(BoundaryFormMixin, forms.Form):
    comment = forms.CharField(
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text="Tell the authors what to change; every selected template gets this comment.",
    )
