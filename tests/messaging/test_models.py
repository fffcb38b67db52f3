from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.messaging.models import SentMessage
from tests.factories import make_account, make_conversion, make_message

pytestmark = pytest.mark.django_db


def test_a_provider_message_id_is_unique_per_account_only():
    account = make_account()
    make_message(account, provider_message_id="X1")
    make_message(make_account(), provider_message_id="X1")
    with pytest.raises(IntegrityError), transaction.atomic():
        SentMessage.objects.create(
            account=account, provider_message_id="X1", phone="+8613800138000", sent_at=timezone.now()
        )


def test_a_message_has_at_most_one_conversion():
    conversion = make_conversion()
    with pytest.raises(IntegrityError), transaction.atomic():
        type(conversion).objects.create(message=conversion.message, status="converted", converted_at=timezone.now())


def test_a_conversion_before_the_send_time_is_refused():
    message = make_message()
    with pytest.raises(ValidationError) as caught:
        make_conversion(message, converted_at=message.sent_at - timedelta(seconds=1))
    assert caught.value.message_dict["converted_at"][0].startswith("Conversion time must be after the message was sent")


def test_a_conversion_in_the_future_is_refused():
    with pytest.raises(ValidationError) as caught:
        make_conversion(converted_at=timezone.now() + timedelta(minutes=5))
    assert caught.value.message_dict["converted_at"] == ["Conversion time must not be in the future."]
