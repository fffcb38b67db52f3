from django.urls import path

from bench.ingest import anchor
from smsdash.urls import urlpatterns as project_urls

urlpatterns = [
    *project_urls,
    path("bench/anchor/conversions", anchor.conversions),
]
