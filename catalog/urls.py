from django.urls import re_path

from config.api.routers import Router

from . import views
from .cache import catalog_cached_read

STORE = r"stores/(?P<store>[-\w]+)"
PRODUCT = rf"{STORE}/products/(?P<product_id>\d+)"

router = Router()
router.register(rf"{STORE}/categories", views.CategoryViewSet, basename="catalog-category")
router.register(rf"{STORE}/products", views.ProductViewSet, basename="catalog-product")
router.register(rf"{PRODUCT}/variants", views.VariantViewSet, basename="catalog-variant")
router.register(rf"{PRODUCT}/images", views.ProductImageViewSet, basename="catalog-image")
router.register(rf"{PRODUCT}/reviews", views.ReviewViewSet, basename="catalog-review")

urlpatterns = [
    re_path(rf"^{STORE}/search/?$", catalog_cached_read(views.SearchView.as_view()), name="catalog-search"),
    re_path(rf"^{STORE}/search/suggestions/?$", catalog_cached_read(views.SuggestionsView.as_view()),
            name="catalog-suggestions"),
    re_path(rf"^{STORE}/brands/?$", catalog_cached_read(views.BrandListView.as_view()), name="catalog-brands"),
    re_path(rf"^{STORE}/inventory/?$", views.InventoryListView.as_view(), name="catalog-inventory"),
    re_path(rf"^{STORE}/inventory/adjustments/?$", views.InventoryAdjustmentView.as_view(),
            name="catalog-inventory-adjustments"),
    re_path(rf"^{STORE}/inventory/movements/?$", views.InventoryMovementListView.as_view(),
            name="catalog-inventory-movements"),
    *router.urls,
]

# Public reads answered from the cache for anonymous callers (catalog.cache).
CACHED_ROUTES = {"catalog-product-list", "catalog-product-detail", "catalog-category-list", "catalog-category-detail"}
for pattern in urlpatterns:
    if getattr(pattern, "name", None) in CACHED_ROUTES:
        pattern.callback = catalog_cached_read(pattern.callback)
