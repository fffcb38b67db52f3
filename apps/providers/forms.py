from __future__ import annotations

from django import forms

from apps.providers.models import SECRET_MASK, ProviderAccount
from smsdash.boundary import BoundaryFormMixin


class ProviderAccountForm(BoundaryFormMixin, forms.ModelForm):
    """The secret is write-only: never rendered back; left empty it keeps the stored value."""

    key_secret = forms.CharField(
        label="Key secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Alibaba AccessKeySecret, Tencent SecretKey or Plivo Auth Token. Write-only: "
        "leave empty to keep the stored secret.",
    )

    endpoint = forms.URLField(
        label="Endpoint override",
        required=False,
        assume_scheme="https",
        help_text=ProviderAccount._meta.get_field("endpoint").help_text,
    )

    class Meta:
        model = ProviderAccount
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._stored_secret = self.instance.key_secret if self.instance.pk else ""
        if self._stored_secret:
            self.fields["key_secret"].widget.attrs["placeholder"] = SECRET_MASK

    def clean_key_secret(self) -> str:
        return self.cleaned_data.get("key_secret") or self._stored_secret
