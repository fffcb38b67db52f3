from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

admin.site.site_header = "smsdash"
admin.site.site_title = "smsdash"
admin.site.index_title = "OTP SMS operations"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
]
