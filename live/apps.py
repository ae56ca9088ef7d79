from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "live"
    verbose_name = "Live updates"

    def ready(self) -> None:
        from notifications.services import live_listener_register

        from .channel import channel_publish

        # every committed event and in-app notification goes into the channel the streams read (docs: README
        # "Live updates")
        live_listener_register(channel_publish)
