from django.apps import AppConfig


class SmsTemplatesConfig(AppConfig):
    name = "apps.sms_templates"
    verbose_name = "SMS templates"
