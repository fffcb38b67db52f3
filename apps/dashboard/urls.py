from django.urls import path

from apps.dashboard import charts, export_views, health_views, views

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard, name="index"),
    path("health/", health_views.health_panel, name="health"),
    path("data/conversion/", charts.ConversionChartView.as_view(), name="chart-conversion"),
    path("data/delivery/", charts.DeliveryChartView.as_view(), name="chart-delivery"),
    path("data/comparison/", charts.ComparisonChartView.as_view(), name="chart-comparison"),
    path("data/funnel/", charts.FunnelChartView.as_view(), name="chart-funnel"),
    path("export/breakdown/", export_views.breakdown_csv, name="export-breakdown"),
    path("exports/<int:pk>/", export_views.export_status, name="export-status"),
    path("exports/<int:pk>/download/", export_views.export_download, name="export-download"),
]
