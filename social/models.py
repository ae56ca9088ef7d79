from django.db import models

from config.fields import EncryptedTextField


class SocialAppSecret(models.Model):
    """The client secret of a provider configured in the admin (allauth's SocialApp), encrypted at rest: allauth keeps
    it in plain text in ``SocialApp.secret``, which stays empty here. ``social.adapters.SocialAccountAdapter.list_apps``
    hands it to allauth when a login uses the provider."""

    app = models.OneToOneField("socialaccount.SocialApp", on_delete=models.CASCADE, related_name="encrypted_secret")
    secret = EncryptedTextField(blank=True, default="")

    def __str__(self) -> str:
        return f"secret of {self.app_id}"
