"""The template review worker: for templates under provider review, ask the provider for its
review and apply it through the template workflow's own service (template_apply_review)."""

from __future__ import annotations

from apps.providers.clients.base import ErrorKind, ProviderError
from apps.sms_templates.models import SmsTemplate, TemplateStatus


def templates_to_check(*, account, template_ids: list[int] | None = None):
    templates = SmsTemplate.objects.filter(account=account).exclude(provider_template_code="")
    if template_ids is not None:
        # Asked for by name in the admin: also re-check approved or rejected ones.
        from apps.sms_templates.services import UNDER_PROVIDER

        return templates.filter(pk__in=template_ids, status__in=UNDER_PROVIDER).order_by("pk")
    return templates.filter(status=TemplateStatus.PROVIDER_REVIEW).order_by("pk")


def sync_template_reviews(ctx) -> None:
    """The templates worker of apps.providers.sync.engine (ctx: SyncContext)."""
    from apps.sms_templates.services import template_apply_review

    if not ctx.account.has_template_api:
        ctx.set_total(0)
        return
    after = int(ctx.cursor.get("after", 0))
    templates = list(templates_to_check(account=ctx.account, template_ids=ctx.run.scope.get("templates")))
    templates = [t for t in templates if t.pk > after]
    ctx.set_total(len(templates))
    for template in templates:
        try:
            review = ctx.call(ctx.client.template_status, template.provider_template_code)
        except ProviderError as error:
            if error.kind != ErrorKind.INVALID:
                raise
            ctx.skip(label=f"template {template.name}", error=error, cursor={"after": template.pk})
            continue
        changed = template_apply_review(template=template, review=review)
        ctx.page_done(cursor={"after": template.pk}, seen=1, updated=int(changed), unit_finished=True)
