from django.contrib import admin


class StoreAdminSite(admin.AdminSite):
    """The merchant dashboard ("PMS"): one branded site for every app's admin."""

    site_header = "Store Admin"
    site_title = "Store Admin"
    index_title = "Dashboard"
