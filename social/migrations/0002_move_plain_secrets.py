"""Every client secret allauth kept in plain text (``socialaccount_socialapp.secret``) moves into the encrypted
``social_socialappsecret.secret``; the plain column is blanked. Reversible: back into the plain column."""

from django.db import migrations


def secrets_encrypt(apps, schema_editor):
    SocialApp = apps.get_model("socialaccount", "SocialApp")
    SocialAppSecret = apps.get_model("social", "SocialAppSecret")
    for app in SocialApp.objects.exclude(secret="").order_by("pk"):
        SocialAppSecret.objects.update_or_create(app=app, defaults={"secret": app.secret})
        SocialApp.objects.filter(pk=app.pk).update(secret="")


def secrets_decrypt(apps, schema_editor):
    SocialApp = apps.get_model("socialaccount", "SocialApp")
    SocialAppSecret = apps.get_model("social", "SocialAppSecret")
    for stored in SocialAppSecret.objects.exclude(secret="").order_by("pk"):
        SocialApp.objects.filter(pk=stored.app_id).update(secret=stored.secret)
    SocialAppSecret.objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ("social", "0001_social_app_secret"),
    ]

    operations = [
        migrations.RunPython(secrets_encrypt, secrets_decrypt),
    ]
