"""Uploaded images: checked by their content, re-encoded without metadata."""

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

from config.api.errors import ValidationFailed

from .errors import PayloadTooLarge

# Pillow format -> (format to write, file suffix)
OUTPUT_FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("JPEG", ".jpg"),
    "MPO": ("JPEG", ".jpg"),  # multi-picture JPEG from phone cameras: the first picture
    "PNG": ("PNG", ".png"),
    "WEBP": ("WEBP", ".webp"),
    "GIF": ("PNG", ".png"),  # the first frame; animation is not kept
}
MAX_PIXELS = 40_000_000


@dataclass(frozen=True)
class CleanImage:
    content: ContentFile
    suffix: str
    width: int
    height: int


def _not_an_image(message: str = "Upload a valid image (JPEG, PNG, WebP or GIF).") -> ValidationFailed:
    return ValidationFailed("The file is not a valid image.", file=[message])


def image_clean(*, upload) -> CleanImage:
    """Verifies that ``upload`` really is an image and re-encodes it, dropping EXIF and other metadata.

    Raises PayloadTooLarge (413) over IMAGE_UPLOAD_MAX_BYTES and ValidationFailed
    (400, ``details.file``) for anything Pillow cannot open and verify; the name
    and content type the client sent are ignored.
    """
    if upload is None:
        raise ValidationFailed("No file was sent.", file=["This field is required."])
    if upload.size > settings.IMAGE_UPLOAD_MAX_BYTES:
        raise PayloadTooLarge(f"Images are limited to {settings.IMAGE_UPLOAD_MAX_BYTES} bytes.",
                              limit=settings.IMAGE_UPLOAD_MAX_BYTES)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            upload.seek(0)
            with Image.open(upload) as probe:
                probe.verify()  # structure and checksums; the object is unusable afterwards
            upload.seek(0)
            image = Image.open(upload)
            if image.format not in OUTPUT_FORMATS:
                raise _not_an_image()
            if image.width * image.height > MAX_PIXELS:
                raise _not_an_image("The image has too many pixels.")
            image.load()
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning, OSError,
            SyntaxError, ValueError, EOFError):
        raise _not_an_image() from None

    output_format, suffix = OUTPUT_FORMATS[image.format]
    icc_profile = image.info.get("icc_profile")  # colour data, not personal: kept so colours stay right
    image = ImageOps.exif_transpose(image)  # keep the intended orientation, then drop the tag
    if output_format == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    elif output_format == "PNG" and image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGBA")
    buffer = io.BytesIO()
    save_options = {"quality": 88, "optimize": True} if output_format in ("JPEG", "WEBP") else {"optimize": True}
    if icc_profile:
        save_options["icc_profile"] = icc_profile
    image.save(buffer, format=output_format, **save_options)  # no exif= / pnginfo=: metadata is not written
    return CleanImage(ContentFile(buffer.getvalue()), suffix, image.width, image.height)
