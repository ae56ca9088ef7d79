"""The part that talks to allauth: which providers are offered, starting a login, what its callback left behind,
and a provider's token checked. Views call these with Django's own request (allauth keeps its state in it)."""

from contextlib import contextmanager
from importlib import import_module
from urllib.parse import urlencode

from allauth.core.exceptions import ImmediateHttpResponse, SignupClosedException
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.internal import flows
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.base.constants import AuthProcess
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import MultipleObjectsReturned, ValidationError
from django.urls import reverse

from accounts.models import User
from config.api.errors import NotFound
from features.flags import is_enabled

from . import services

# what allauth's login flow leaves in the session besides the handoff
_FLOW_SESSION_KEYS = ("account_authentication_methods", "account_authentication_methods_user",
                      "socialaccount_sociallogin", "account_login")
KINDS = ("google", "github", "openid_connect")  # the provider classes offered (INSTALLED_APPS has their apps)


def social_login_on() -> bool:
    """Whether social login is offered at all: the platform's feature flag `social_login` (on unless a superuser
    switches it off; a provider still needs configuring), the one check every social route makes."""
    return is_enabled("social_login")


def providers_offered(request) -> list[dict]:
    """Every configured provider (settings or the admin's social applications) of a kind offered here, by its id in
    this API's paths; none without configuration."""
    offered, seen = [], set()
    for app in get_adapter(request).list_apps(request):
        if app.provider not in KINDS or app.settings.get("hidden"):
            continue
        provider_id = app.provider_id or app.provider
        if provider_id in seen:
            continue
        seen.add(provider_id)
        provider = app.get_provider(request)
        offered.append({"id": provider_id, "name": app.name or provider.name, "kind": app.provider,
                        "login_url": request.build_absolute_uri(reverse("social-login", args=[provider_id])),
                        "token_login": bool(provider.supports_token_authentication)})
    return offered


def provider_get(request, provider_id: str):
    """allauth's provider for an id of ``providers_offered``. Raises NotFound (404) for any other."""
    if provider_id not in {entry["id"] for entry in providers_offered(request)}:
        raise NotFound("No such social login provider here.")
    try:
        return get_adapter(request).get_provider(request, provider_id)
    except (SocialApp.DoesNotExist, MultipleObjectsReturned) as exc:
        raise NotFound("No such social login provider here.") from exc


def login_redirect(request, provider, *, callback_url: str):
    """The redirect to the provider, its state (PKCE verifier included) kept in this API's session cookie for the
    callback; allauth's headless flow sends the browser to ``complete`` afterwards."""
    next_url = f"{reverse('social-complete')}?{urlencode({'callback_url': callback_url})}"
    return provider.redirect(request, AuthProcess.LOGIN, next_url=next_url, headless=True)


def callback(request, provider):
    """allauth's callback view of the provider's kind, for the provider's redirect back."""
    from allauth.socialaccount.providers.github.views import oauth2_callback as github_callback
    from allauth.socialaccount.providers.google.views import oauth2_callback as google_callback
    from allauth.socialaccount.providers.openid_connect.views import callback as openid_connect_callback

    if provider.id == "google":
        return google_callback(request)
    if provider.id == "github":
        return github_callback(request)
    return openid_connect_callback(request, provider_id=provider.sub_id)


def login_complete(request, *, callback_url: str, error: str = "") -> str:
    """Where the browser goes at the end: ``callback_url`` with a one-time code for the user allauth left in the
    session (social.adapters.AccountAdapter.login), or with ``error``. The session is dropped either way: nothing
    of the login stays in a cookie."""
    user_id = services.handoff_take(request.session)
    for key in _FLOW_SESSION_KEYS:
        request.session.pop(key, None)
    if request.session.is_empty():
        request.session.flush()  # the cookie goes too; a session of the admin's in the same browser stays
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id and not error else None
    if user is None:
        return services.callback_url_with(callback_url, error=_error_word(error or "unknown"))
    return services.callback_url_with(callback_url, code=services.login_code_issue(user=user))


def token_login(request, provider, *, id_token: str = "", access_token: str = "") -> User:
    """The account a provider's token stands for (found, linked or created by the adapters' rules), without a
    session. Raises the API's error of a refusal (``services.refusal``)."""
    token = {"client_id": provider.app.client_id}
    if id_token:
        token["id_token"] = id_token
    if access_token:
        token["access_token"] = access_token
    if not provider.supports_token_authentication:
        raise services.refusal(services.INVALID_TOKEN)
    with _throwaway_session(request):
        try:
            sociallogin = provider.verify_token(request, token)
            sociallogin.state["process"] = AuthProcess.LOGIN
            flows.login.complete_login(request, sociallogin, raises=True)
        except ValidationError as exc:
            raise services.refusal(_error_word(exc.code or "")) from exc
        except (SignupClosedException, ImmediateHttpResponse) as exc:
            raise services.refusal(services.INVALID_TOKEN) from exc
        user_id = services.handoff_take(request.session)
    user = User.objects.filter(pk=user_id).first() if user_id else None
    if user is None:
        raise services.refusal(services.INVALID_TOKEN)
    return user


def _error_word(code: str) -> str:
    known = {services.EMAIL_REQUIRED, services.EMAIL_NOT_VERIFIED, services.ACCOUNT_INACTIVE, services.INVALID_TOKEN,
             "cancelled", "unknown", "signup_closed", "permission_denied", "reauthentication_required"}
    return code if code in known else ("invalid_token" if "token" in code else "unknown")


@contextmanager
def _throwaway_session(request):
    """allauth's flow writes to request.session; an API call keeps no session: a fresh one, never saved, and the
    request's own session and user back afterwards."""
    engine = import_module(settings.SESSION_ENGINE)
    session, user = request.session, getattr(request, "user", AnonymousUser())
    request.session, request.user = engine.SessionStore(), AnonymousUser()
    try:
        yield
    finally:
        request.session, request.user = session, user
