"""Reading customers' 3D models: the format from the content (never the name), parsed with trimesh.

Only STL (binary or ASCII), OBJ and 3MF are accepted. A file is one of them when its bytes say so *and* trimesh
reads at least one triangle out of it; anything else is refused with the reason (the caller answers 400). A 3MF is
a zip: its members' unpacked sizes are checked against MAKER_UNPACKED_MAX_BYTES before anything is unpacked.

Units are millimetres (what slicers assume for STL and OBJ; 3MF's default unit). A model must be closed
(watertight): the volume of an open surface means nothing, so one is rejected with the reason rather than priced
on a guess.
"""

import io
import struct
import zipfile
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

THREEMF_MODEL = "3d/3dmodel.model"
MM3_PER_CM3 = Decimal(1000)


class NotAModel(Exception):
    """The bytes are not an STL, OBJ or 3MF that can be read; the message says why (for the customer)."""


@dataclass(frozen=True)
class Analysis:
    volume_cm3: Decimal
    size_mm: tuple[Decimal, Decimal, Decimal]
    triangle_count: int
    watertight: bool


def model_format(data: bytes) -> str:
    """"stl", "obj" or "3mf", read from the content. Raises NotAModel otherwise."""
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                infos = archive.infolist()
        except zipfile.BadZipFile:
            raise NotAModel("A damaged zip: not a 3MF file.") from None
        if not any(info.filename.lower().lstrip("/") == THREEMF_MODEL for info in infos):
            raise NotAModel("A zip without a 3D/3dmodel.model: not a 3MF file.")
        if sum(info.file_size for info in infos) > settings.MAKER_UNPACKED_MAX_BYTES:
            raise NotAModel(f"The 3MF unpacks to more than {settings.MAKER_UNPACKED_MAX_BYTES} bytes.")
        return "3mf"
    if len(data) >= 84:
        (count,) = struct.unpack_from("<I", data, 80)
        if count > 0 and len(data) == 84 + 50 * count:
            return "stl"  # binary STL: an 80-byte header, a count, 50 bytes a triangle, nothing else
    head = data[:1024].lstrip()
    if head[:5].lower() == b"solid" and b"facet" in data[:4096] and b"endsolid" in data[-1024:]:
        return "stl"  # ASCII STL
    try:
        text = data[:65536].decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text and "\x00" not in text:
        keywords = {line.split(maxsplit=1)[0] for line in text.splitlines() if line.strip()}
        if "v" in keywords and "f" in keywords:
            return "obj"
    raise NotAModel("Not an STL, OBJ or 3MF file.")


def mesh_load(data: bytes, model_format_name: str | None = None):
    """The model as one trimesh.Trimesh (a 3MF's objects together). Raises NotAModel when trimesh cannot read it or
    it has no triangles."""
    import trimesh  # numpy and trimesh load in the process that reads models only

    kind = model_format_name or model_format(data)
    try:
        mesh = trimesh.load(io.BytesIO(data), file_type=kind, force="mesh")
    except Exception as exc:  # trimesh raises whatever its parsers raise on a broken file
        raise NotAModel(f"The {kind.upper()} file could not be read ({type(exc).__name__}).") from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise NotAModel(f"The {kind.upper()} file holds no triangles.")
    return mesh


def mesh_analyse(data: bytes, model_format_name: str | None = None) -> Analysis:
    """Volume (cm³), bounding box size (mm) and triangle count of the model in ``data``."""
    mesh = mesh_load(data, model_format_name)
    watertight = bool(mesh.is_watertight)
    extents = [Decimal(str(round(float(value), 3))) for value in mesh.extents]
    volume = abs(Decimal(str(float(mesh.volume)))) / MM3_PER_CM3 if watertight else Decimal(0)
    return Analysis(volume_cm3=volume.quantize(Decimal("0.0001")), size_mm=(extents[0], extents[1], extents[2]),
                    triangle_count=len(mesh.faces), watertight=watertight)
