from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from apps.messaging.delivery import webhooks
from smsdash.signin import views as signin_views
from smsdash.signin.forms import SignInForm

admin.site.site_header = "smsdash"
admin.site.site_title = "smsdash"
admin.site.index_title = "OTP SMS operations"
# The login asks for the two-factor code of a user who has enrolled (smsdash/signin/).
admin.site.login_form = SignInForm
admin.site.login_template = "signin/login.html"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    # The dashboard lives inside the admin (staff only); before admin.site.urls so its catch-all does not win.
    path("admin/dashboard/", include("apps.dashboard.urls")),
    path("admin/two-factor/", signin_views.two_factor, name="signin-two-factor"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("apps.messaging.api.urls")),
    # Delivery-receipt callbacks (issue 5): the URL to give each provider is on the account's admin page.
    path(
        "webhooks/tencent/status/<int:account_id>/<str:token>", webhooks.tencent_status, name="webhook-tencent-status"
    ),
    path("webhooks/aliyun/report/<int:account_id>/<str:token>", webhooks.aliyun_report, name="webhook-aliyun-report"),
    path("webhooks/plivo/status/<int:account_id>", webhooks.plivo_status, name="webhook-plivo-status"),
]
