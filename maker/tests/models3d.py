"""3D models made in the tests: a closed box as binary STL, ASCII STL, OBJ and 3MF, and an open one."""

import io
import struct
import zipfile


def box_triangles(size: float = 10.0, *, open_top: bool = False) -> list[tuple[tuple[float, float, float], ...]]:
    """The 12 triangles of an axis-aligned box [0, size]³, wound counter-clockwise seen from outside (outward
    normals); ``open_top`` leaves the top face out (a mesh with a hole)."""
    s = size
    corners = [(0, 0, 0), (s, 0, 0), (s, s, 0), (0, s, 0), (0, 0, s), (s, 0, s), (s, s, s), (0, s, s)]
    quads = [
        (0, 3, 2, 1),  # bottom, normal -z
        (4, 5, 6, 7),  # top, +z
        (0, 1, 5, 4),  # front, -y
        (2, 3, 7, 6),  # back, +y
        (1, 2, 6, 5),  # right, +x
        (0, 4, 7, 3),  # left, -x
    ]
    if open_top:
        quads.remove((4, 5, 6, 7))
    triangles = []
    for a, b, c, d in quads:
        triangles.append((corners[a], corners[b], corners[c]))
        triangles.append((corners[a], corners[c], corners[d]))
    return triangles


def stl_binary(triangles) -> bytes:
    out = io.BytesIO()
    out.write(b"made in the test".ljust(80, b" "))
    out.write(struct.pack("<I", len(triangles)))
    for triangle in triangles:
        out.write(struct.pack("<3f", 0.0, 0.0, 0.0))  # readers recompute normals from the winding
        for vertex in triangle:
            out.write(struct.pack("<3f", *vertex))
        out.write(struct.pack("<H", 0))
    return out.getvalue()


def stl_ascii(triangles) -> bytes:
    lines = ["solid box"]
    for triangle in triangles:
        lines += ["facet normal 0 0 0", "outer loop", *(f"vertex {x} {y} {z}" for x, y, z in triangle),
                  "endloop", "endfacet"]
    lines.append("endsolid box")
    return ("\n".join(lines) + "\n").encode()


def obj_text(triangles) -> bytes:
    vertices: dict[tuple, int] = {}
    faces = []
    for triangle in triangles:
        face = []
        for vertex in triangle:
            face.append(vertices.setdefault(tuple(vertex), len(vertices) + 1))
        faces.append(face)
    lines = ["# a box", *(f"v {x} {y} {z}" for x, y, z in vertices), *(f"f {a} {b} {c}" for a, b, c in faces)]
    return ("\n".join(lines) + "\n").encode()


def threemf(triangles) -> bytes:
    vertices: dict[tuple, int] = {}
    faces = []
    for triangle in triangles:
        faces.append([vertices.setdefault(tuple(vertex), len(vertices)) for vertex in triangle])
    vertex_xml = "".join(f'<vertex x="{x}" y="{y}" z="{z}"/>' for x, y, z in vertices)
    triangle_xml = "".join(f'<triangle v1="{a}" v2="{b}" v3="{c}"/>' for a, b, c in faces)
    model = ('<?xml version="1.0" encoding="UTF-8"?>'
             '<model unit="millimeter" xml:lang="en-US" '
             'xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">'
             f'<resources><object id="1" type="model"><mesh><vertices>{vertex_xml}</vertices>'
             f'<triangles>{triangle_xml}</triangles></mesh></object></resources>'
             '<build><item objectid="1"/></build></model>')
    content_types = ('<?xml version="1.0" encoding="UTF-8"?>'
                     '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                     '<Default Extension="rels" '
                     'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                     '<Default Extension="model" ContentType="application/vnd.ms-package.3dmanufacturing-3dmodel+xml"/>'
                     '</Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Target="/3D/3dmodel.model" Id="rel0" '
            'Type="http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"/></Relationships>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("_rels/.rels", rels)
        archive.writestr("3D/3dmodel.model", model)
    return out.getvalue()
