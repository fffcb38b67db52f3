import pytest
from django.core.exceptions import ValidationError

from apps.messaging.phone import country_of
from tests.factories import make_message


@pytest.mark.parametrize(
    "phone, country",
    [
        ("+8613800138000", "CN"),
        ("+14165551234", "CA"),
        ("+12125551234", "US"),
        ("+447911123456", "GB"),
        ("+85291234567", "HK"),
        ("+2348012345678", "NG"),
        ("+77012345678", "KZ"),
        ("+79161234567", "RU"),
        ("+6281234567890", "ID"),
        ("8613800138000", "ZZ"),
    ],
)
def test_the_country_comes_from_the_calling_code(phone, country):
    assert country_of(phone) == country


@pytest.mark.django_db
def test_a_message_stores_the_country_of_its_phone():
    assert make_message(phone="+6591234567").country == "SG"


@pytest.mark.django_db
@pytest.mark.parametrize("phone", ["13800138000", "+86 138 0013 8000", "+0123456789", "+1234", "+1234567890123456"])
def test_a_malformed_phone_is_refused_with_the_rule(phone):
    with pytest.raises(ValidationError) as caught:
        make_message(phone=phone)
    assert caught.value.message_dict["phone"] == [
        "Phone must be in E.164 format: + then 7 to 15 digits, no spaces (e.g. +8613800138000)."
    ]
