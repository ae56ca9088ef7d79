import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from config.api.actor import request_actor


class FakeApiKey:
    pk = 7


def _request(user=None, api_key=None):
    request = RequestFactory().get("/x")
    request.user = user if user is not None else AnonymousUser()
    if api_key is not None:
        request.api_key = api_key
    return request


@pytest.mark.django_db
def test_a_logged_in_user_acts_as_themselves(user):
    assert request_actor(_request(user=user)) == user


def test_an_api_key_acts_as_the_key():
    key = FakeApiKey()
    assert request_actor(_request(api_key=key)) is key


def test_anonymous_and_no_request_act_as_no_one():
    assert request_actor(_request()) is None
    assert request_actor(None) is None
