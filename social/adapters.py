"""allauth's adapters (settings ACCOUNT_ADAPTER, SOCIALACCOUNT_ADAPTER): the rules of this platform where allauth
asks.

- No Django session login, ever: a finished social login leaves the user on the request and in the session under
  ``services.HANDOFF_SESSION_KEY`` (the redirect flow's browser carries it to ``GET …/social/complete`` once), and
  this API issues its own JWT pair after the same lock and second factor as a password login. A session would let a
  social login into the admin past its 2FA.
- An account is found by the provider's link, else by an email the provider says is verified (linked, no second
  account; an account whose email was never verified here passes to the person the provider vouched for: its
  password stops working, ``accounts.services.user_email_claim``). An email the provider does not vouch for never
  reaches an existing account: ``email_not_verified``. No email at all: ``email_required``.
- allauth sends no email and shows no page or message of its own.
- The client secret of a provider configured in the admin is kept encrypted (social.models.SocialAppSecret) and put
  on allauth's app only in memory, when allauth lists the apps.
"""

import logging

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError

from accounts.models import User
from accounts.services import email_verification_send, user_email_claim

from . import services

logger = logging.getLogger(__name__)


def _refused(reason: str) -> ValidationError:
    # allauth's headless callback hands a ValidationError's code to the storefront as ?error=<code>; the token flow
    # turns it into the API's error (social.views)
    return ValidationError(reason, code=reason)


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return True

    def login(self, request, user) -> None:
        request.user = user
        services.handoff_record(request.session, user=user)

    def logout(self, request) -> None:
        request.session.pop(services.HANDOFF_SESSION_KEY, None)
        request.user = AnonymousUser()

    def respond_user_inactive(self, request, user):
        raise _refused(services.ACCOUNT_INACTIVE)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        return None  # this platform's emails are its own (config.emails); allauth's are never sent

    def add_message(self, *args, **kwargs) -> None:
        return None


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin) -> bool:
        return True

    def authenticate_by_email(self, sociallogin):
        for address in sociallogin.email_addresses:
            if not address.verified:
                continue
            user = User.objects.filter(email=User.objects.normalize_email(address.email), is_active=True).first()
            if user is not None:
                return user, address.email
        return None

    def pre_social_login(self, request, sociallogin) -> None:
        # after allauth's lookup: by the provider's link, else by a verified email (authenticate_by_email)
        from allauth.account.models import EmailAddress

        if sociallogin.is_existing:
            user = sociallogin.user
            if not user.is_active:
                raise _refused(services.ACCOUNT_INACTIVE)
            if sociallogin._did_authenticate_by_email:  # about to be linked by its email
                if not user.email_verified:
                    sociallogin.user = user = user_email_claim(user=user)
                # allauth's own record of the verified address, so its check before linking finds it
                EmailAddress.objects.update_or_create(user=user, email=user.email,
                                                      defaults={"verified": True, "primary": True})
            return
        email = User.objects.normalize_email(sociallogin.user.email)  # the new account's: the provider's primary one
        if not email:
            raise _refused(services.EMAIL_REQUIRED)
        if User.objects.filter(email=email).exists():
            raise _refused(services.EMAIL_NOT_VERIFIED)

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        name = (data.get("name") or " ".join(part for part in (data.get("first_name"), data.get("last_name"))
                                             if part) or "")
        user.name = name.strip()[:150]
        user.email = User.objects.normalize_email(user.email)
        return user

    def save_user(self, request, sociallogin, form=None):
        user = sociallogin.user
        primary = next((address for address in sociallogin.email_addresses
                        if User.objects.normalize_email(address.email) == user.email), None)
        user.email_verified = bool(primary and primary.verified)
        user = super().save_user(request, sociallogin, form=form)  # no usable password: the provider logs them in
        if not user.email_verified:
            email_verification_send(user=user)  # ours, as at registration
        return user

    def list_apps(self, request, provider=None, client_id=None):
        # allauth reads a provider's client secret from the app it gets here (get_app too goes through this): the
        # admin's are stored encrypted (social.models.SocialAppSecret), allauth's own column left empty
        apps = super().list_apps(request, provider=provider, client_id=client_id)
        services.app_secrets_fill(apps)
        return apps

    def on_authentication_error(self, request, provider, error=None, exception=None, extra_context=None) -> None:
        # allauth's headless part then sends the browser back with ?error=. Logged by kind only: a provider's error
        # text may quote a code or a token.
        logger.info("social login failed at %s: %s (%s)", getattr(provider, "id", provider), error,
                    type(exception).__name__ if exception else "no exception")
