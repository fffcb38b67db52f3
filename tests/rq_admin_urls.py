"""The project's URLs with django-rq's queue pages in the admin, as when REDIS_URL is set at start-up
(django-rq registers them only then). Built by build() once the test has registered django-rq's
Dashboard, since the admin's URLs are read when they are built."""

from django.contrib import admin
from django.urls import path

from smsdash import urls

urlpatterns: list = []


def build() -> None:
    urlpatterns[:] = [p for p in urls.urlpatterns if str(p.pattern) != "admin/"] + [path("admin/", admin.site.urls)]
