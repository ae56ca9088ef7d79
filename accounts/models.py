from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone

from config.fields import EncryptedTextField


class UserManager(BaseUserManager):
    use_in_migrations = True

    def normalize_email(self, email: str) -> str:
        return (email or "").strip().lower()

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("An email is required.")
        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, username: str) -> "User":
        return self.get(email=self.normalize_email(username))


class User(AbstractBaseUser, PermissionsMixin):
    """A person: customer, merchant team member or platform staff. Logs in by email."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Platform staff (superusers manage every store).")
    email_verified = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    totp_secret = EncryptedTextField(blank=True, default="")
    two_factor_enabled = models.BooleanField(default=False)
    totp_last_counter = models.BigIntegerField(null=True, blank=True, help_text="Last TOTP step used (no replays).")

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs) -> None:
        self.email = type(self).objects.normalize_email(self.email)
        super().save(*args, **kwargs)


class ConsentSource(models.TextChoices):
    API = "api", "API"
    CHECKOUT = "checkout", "Checkout"
    ADMIN = "admin", "Admin"


class Consent(models.Model):
    """One answer of a person to one purpose (settings.CONSENT_PURPOSES): given or withdrawn, when, where and to
    which version of the wording. Append-only: the newest row per purpose is the person's answer now, the older
    ones are the record of what they agreed to before (accounts.consents)."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(max_length=40)
    granted = models.BooleanField()
    version = models.CharField(max_length=40, help_text="The version of the wording the person answered.")
    source = models.CharField(max_length=10, choices=ConsentSource.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "purpose", "-id"], name="consent_user_purpose")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.purpose} {'granted' if self.granted else 'withdrawn'}"
