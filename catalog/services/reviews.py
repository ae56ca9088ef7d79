"""Customer reviews and their moderation."""

from django.db import IntegrityError, transaction

from config.api.errors import AlreadyExists, ValidationFailed

from ..cache import catalog_cache_invalidate
from ..errors import NotPublished
from ..events import audit
from ..models import Product, ProductStatus, Review


@transaction.atomic
def review_create(*, product: Product, user, rating: int, title: str = "", body: str = "") -> Review:
    """One review per user per product, on published products only.

    Raises NotPublished (409), AlreadyExists (409) for a second review, ValidationFailed for a rating outside 1–5.
    """
    if product.status != ProductStatus.PUBLISHED:
        raise NotPublished()
    if not 1 <= rating <= 5:
        raise ValidationFailed("Ratings go from 1 to 5.", rating=["Ratings go from 1 to 5."])
    if Review.objects.filter(product=product, user=user).exists():
        raise AlreadyExists("You have already reviewed this product.")
    try:
        with transaction.atomic():
            review = Review.objects.create(store_id=product.store_id, product=product, user=user, rating=rating,
                                           title=title, body=body)
    except IntegrityError:
        raise AlreadyExists("You have already reviewed this product.") from None
    catalog_cache_invalidate(product.store_id)
    return review


@transaction.atomic
def review_set_hidden(*, review: Review, hidden: bool, actor=None) -> Review:
    """Hides (or shows again) a review; hidden reviews are not shown to the public."""
    if review.is_hidden != hidden:
        review.is_hidden = hidden
        review.save(update_fields=["is_hidden", "updated_at"])
        audit(store=review.product.store, actor=actor, action="review.hidden" if hidden else "review.shown",
              target=review, changes={"is_hidden": [not hidden, hidden]})
    return review


@transaction.atomic
def review_delete(*, review: Review, actor=None) -> None:
    """Removes a review for good (moderation); hiding keeps it."""
    audit(store=review.product.store, actor=actor, action="review.deleted", target=review,
          changes={"rating": [review.rating, None], "user": [review.user_id, None]})
    review.delete()


@transaction.atomic
def reviews_of_user_erase(*, user_id: int) -> int:
    """A person's erasure: their reviews go (title, body and rating), the public pages of their stores with them.
    Returns how many."""
    store_ids = set(Review.objects.filter(user_id=user_id).values_list("store_id", flat=True))
    deleted = Review.objects.filter(user_id=user_id).delete()[0]
    for store_id in store_ids:
        catalog_cache_invalidate(store_id)
    return deleted
