import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from config.api.checks import startup_warnings_log  # noqa: E402 - needs the apps loaded

startup_warnings_log()
