"""The codec-neutral API: the header on the air, the interleaver, weights dispatch, and the
boundary between the two codec packages."""

import ast
import json
from dataclasses import astuple
from pathlib import Path

import numpy as np
import pytest
import torch

from sdr_semcom.semantic.api import ImageHeader, WeightsError
from sdr_semcom.semantic.interleave import packet_cells
from sdr_semcom.semantic.weights import load_codec

SEMANTIC = Path(__file__).resolve().parents[2] / "sdr_semcom" / "semantic"
PACKAGE = "sdr_semcom.semantic"

# the header as the first version of the link sent it: the bytes must not change
WIRE = (b'{"codec":"codec_v2:0123456789ab","height":37,"width":53,"lat_h":3,"lat_w":4,"channels":3,"bits":0,'
        b'"n_packets":2,"quant":1234}')


def test_header_bytes_on_the_air_are_unchanged():
    header = ImageHeader("codec_v2:0123456789ab", 37, 53, 3, 4, 3, 0, 2, 1234)
    assert header.to_bytes() == WIRE
    assert ImageHeader.from_bytes(WIRE) == header
    assert (header.grid_h, header.grid_w, header.planes, header.bits, header.quant) == (3, 4, 3, 0, 1234)


def test_header_without_quant_extra_keys_ignored_and_missing_keys_refused():
    d = json.loads(WIRE)
    del d["quant"]
    d["future"] = 1
    assert ImageHeader.from_bytes(json.dumps(d).encode()).quant == 0
    del d["lat_w"]
    with pytest.raises(ValueError, match="not an image header"):
        ImageHeader.from_bytes(json.dumps(d).encode())
    with pytest.raises(ValueError, match="not an image header"):
        ImageHeader.from_bytes(b"[1, 2]")


def test_header_carries_the_session_id_only_when_given():
    header = ImageHeader("codec_v2:0123456789ab", 37, 53, 3, 4, 3, 0, 2, 1234)
    assert b"session" not in header.to_bytes()
    with_session = ImageHeader(*astuple(header)[:-1], session="00112233aabbccdd")
    assert json.loads(with_session.to_bytes())["session"] == "00112233aabbccdd"
    assert ImageHeader.from_bytes(with_session.to_bytes()) == with_session
    d = json.loads(with_session.to_bytes())
    for bad in (7, ["x"], "f" * 65):
        with pytest.raises(ValueError, match="not an image header"):
            ImageHeader.from_bytes(json.dumps({**d, "session": bad}).encode())


def test_interleaver_is_fixed_and_covers_every_cell_once():
    assert [c.tolist() for c in packet_cells(10, 3)] == [[0, 2, 3, 7], [4, 8, 9], [1, 5, 6]]
    cells = packet_cells(1000, 7)
    assert np.array_equal(np.sort(np.concatenate(cells)), np.arange(1000))
    assert all(130 < len(c) < 160 for c in cells)


def test_unknown_weights_kind_is_refused(tmp_path):
    import hashlib

    torch.save({"kind": "wavelet"}, tmp_path / "w.pt")
    sha = hashlib.sha256((tmp_path / "w.pt").read_bytes()).hexdigest()
    (tmp_path / "w.json").write_text(json.dumps({"sha256": sha}))
    with pytest.raises(WeightsError, match="'wavelet': this version knows latent, dct"):
        load_codec("w", tmp_path)


# ------------------------------------------------------------------------------ package boundaries
def imported_modules(source: str, module: str) -> set[str]:
    """Every module that ``module`` (dotted name, its source given) imports, relative ones resolved;
    ``from a import b`` counts as both ``a`` and ``a.b``."""
    package = module.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            target = ".".join(p for p in (base, node.module or "") if p)
            out.add(target)
            out.update(f"{target}.{alias.name}" for alias in node.names)
    return out


def _modules(sub: str):
    for path in sorted((SEMANTIC / sub).glob("*.py")):
        yield ".".join(p for p in (PACKAGE, sub, path.stem) if p), path.read_text()


def _crossings(sub: str, forbidden: tuple[str, ...]) -> list[str]:
    return [f"{name} imports {imp}" for name, src in _modules(sub) for imp in sorted(imported_modules(src, name))
            if any(imp == f or imp.startswith(f + ".") for f in forbidden)]


def test_boundary_check_sees_a_crossing():
    src = "from ..dct import transform\nfrom .. import dct\nimport sdr_semcom.semantic.dct.codec\nfrom .net import X\n"
    got = imported_modules(src, f"{PACKAGE}.latent.packets")
    assert {f"{PACKAGE}.dct", f"{PACKAGE}.dct.transform", f"{PACKAGE}.dct.codec", f"{PACKAGE}.latent.net"} <= got


@pytest.mark.parametrize("sub, other", [("latent", "dct"), ("dct", "latent")])
def test_codec_packages_do_not_import_each_other(sub, other):
    assert list(_modules(sub)), f"no modules under semantic/{sub}"
    assert _crossings(sub, (f"{PACKAGE}.{other}",)) == []


def test_shared_modules_import_neither_codec():
    assert _crossings("", (f"{PACKAGE}.latent", f"{PACKAGE}.dct")) == []
