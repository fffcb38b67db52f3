from django.urls import re_path

from apps.messaging.api import views

app_name = "api"

# A trailing slash is optional: clients differ, and a redirect would drop a POST body.
urlpatterns = [
    re_path(r"^messages/?$", views.messages, name="messages"),
    re_path(r"^conversions/?$", views.conversions, name="conversions"),
    re_path(r"^stats/?$", views.conversion_stats, name="stats"),
    re_path(r"^openapi\.json$", views.openapi, name="openapi"),
]
