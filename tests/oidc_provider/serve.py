"""Runs the test OpenID Connect provider: ``python -m tests.oidc_provider.serve`` with

- OIDC_DB_PATH: its SQLite file (migrated here),
- OIDC_RSA_PRIVATE_KEY: the PEM key its ID tokens are signed with,
- OIDC_USERS: JSON list of {username, password, email, name, email_verified},
- OIDC_CLIENT: JSON {client_id, client_secret, redirect_uris} of the one application (a confidential client, the
  authorization-code grant, RS256 ID tokens, the consent page shown).

It binds a free port on 127.0.0.1 and prints ``READY <port>`` once it serves; it runs until it is terminated."""

import json
import os
import sys


def main() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0, interactive=False)
    for person in settings.OIDC_USERS:
        User.objects.create_user(username=person["username"], password=person["password"], email=person["email"])
    client = json.loads(os.environ["OIDC_CLIENT"])
    Application.objects.create(
        name="Store API", client_id=client["client_id"], client_secret=client["client_secret"],
        redirect_uris=" ".join(client["redirect_uris"]), client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE, algorithm=Application.RS256_ALGORITHM,
        skip_authorization=False)

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler)
    server.set_app(get_wsgi_application())
    print(f"READY {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
