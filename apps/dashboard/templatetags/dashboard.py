from django import template

register = template.Library()


@register.filter
def pct(value) -> str:
    """0.8512 → "85.1%"; nothing for a rate that cannot be computed (no messages)."""
    return "" if value is None else f"{100 * value:.1f}%"
