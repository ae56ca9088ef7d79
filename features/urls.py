from django.urls import re_path

from . import views

STORE = r"stores/(?P<store>[-\w]+)"

urlpatterns = [
    re_path(rf"^{STORE}/features/?$", views.FeaturesView.as_view(), name="features-store"),
]
