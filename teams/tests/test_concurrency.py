"""Races the team rules must win: two owners demoting each other, two people using one invitation."""


import pytest

from config.api.errors import DomainError
from teams.models import Invitation, Membership
from teams.selectors import store_access
from teams.services import invitation_accept, invitation_create, member_role_change
from tests.races import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_owners_demoting_each_other_leave_one_owner(store, member_factory):
    second = member_factory(store, "owner")
    first = store.owner
    mine = Membership.objects.get(store=store, user=first)
    theirs = Membership.objects.get(store=store, user=second)

    results = race(
        lambda: member_role_change(membership=theirs, role="admin", access=store_access(store=store, user=first)),
        lambda: member_role_change(membership=mine, role="admin", access=store_access(store=store, user=second)),
    )

    assert sum(isinstance(result, DomainError) for result in results) == 1, results
    assert Membership.objects.filter(store=store, role="owner").count() == 1


def test_an_invitation_is_used_once(store, user_factory):
    invitation_create(store=store, email="x@example.com", role="staff",
                      access=store_access(store=store, user=store.owner))
    # the token is only in the email; reach it through the service's hash
    import secrets

    from teams.services import token_hash

    token = secrets.token_urlsafe(32)
    Invitation.objects.update(token_hash=token_hash(token))
    first, second = user_factory(), user_factory()

    results = race(lambda: invitation_accept(token=token, user=first),
                   lambda: invitation_accept(token=token, user=second))

    assert sum(isinstance(result, Membership) for result in results) == 1, results
    assert Membership.objects.filter(store=store).count() == 2  # the owner and one of them
