from __future__ import annotations

from django import forms

from apps.providers.models import SECRET_MASK, ProviderAccount
from smsdash.boundary import BoundaryFormMixin

# A changed endpoint or provider sends the stored secret somewhere new: whoever changes it must know it.
SECRET_AGAIN = "Enter the key secret again: changing the endpoint or the provider sends it to a new place."
ENDPOINT_HELP = (
    "Leave empty for the provider's real endpoint. Otherwise https:// and one of the provider's own hosts "
    "(e.g. https://dysmsapi.ap-southeast-1.aliyuncs.com); a local simulator address such as "
    "http://127.0.0.1:8025 only where the deployment sets PROVIDER_ALLOW_LOCAL_ENDPOINTS."
)
SECRET_BOUND_FIELDS = ("endpoint", "provider")


class ProviderAccountForm(BoundaryFormMixin, forms.ModelForm):
    """The secret is write-only: never rendered back; left empty it keeps the stored value, unless
    the endpoint or the provider changes, which asks for it again."""

    key_secret = forms.CharField(
        label="Key secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Alibaba AccessKeySecret, Tencent SecretKey or Plivo Auth Token. Write-only: "
        "leave empty to keep the stored secret (not when changing the endpoint or the provider).",
    )

    endpoint = forms.URLField(label="Endpoint override", required=False, assume_scheme="https", help_text=ENDPOINT_HELP)

    class Meta:
        model = ProviderAccount
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._stored_secret = self.instance.key_secret if self.instance.pk else ""
        self._secret_entered = False
        if self._stored_secret:
            self.fields["key_secret"].widget.attrs["placeholder"] = SECRET_MASK

    def clean_key_secret(self) -> str:
        entered = self.cleaned_data.get("key_secret")
        self._secret_entered = bool(entered)
        return entered or self._stored_secret

    def clean(self):
        cleaned = super().clean()
        moved = any(name in self.changed_data for name in SECRET_BOUND_FIELDS)
        if self.instance.pk and self._stored_secret and moved and not self._secret_entered:
            self.add_error("key_secret", SECRET_AGAIN)
        return cleaned
