"""Photo uploads are judged by their bytes: type, size and dimensions."""

from __future__ import annotations

import io
from pathlib import Path

import injector
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from shequ.application.identity.accounts import OpenAccount, OpenAccountHandler
from shequ.application.policy import CONSOLE
from shequ.domain.identity import Membership, Role
from shequ.entrypoints.http import create_app


def image(kind: str, size: tuple[int, int] = (120, 80)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=kind)
    return buffer.getvalue()


@pytest.fixture
def client(app: injector.Injector) -> TestClient:
    app.get(OpenAccountHandler)(
        OpenAccount(
            phone="13800000004", password="resident password", memberships=(Membership(Role.ADMIN),)
        ),
        actor=CONSOLE,
    )
    c = TestClient(create_app(app), raise_server_exceptions=False)
    token = c.post(
        "/v1/auth/sign-in", json={"phone": "13800000004", "password": "resident password"}
    ).json()
    c.headers["Authorization"] = f"Bearer {token['access_token']}"
    return c


@pytest.mark.parametrize(("kind", "extension"), [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp")])
@pytest.mark.parametrize("backend", ["memory", "sqlite"], indirect=True)
def test_real_photos_are_stored_under_their_digest(
    client: TestClient, kind: str, extension: str, backend: str, tmp_path: Path
) -> None:
    data = image(kind)
    stored = client.post(
        "/v1/uploads/photos", content=data, headers={"content-type": f"image/{extension}"}
    )
    assert stored.status_code == 201, stored.text
    body = stored.json()
    assert (body["format"], body["width"], body["height"]) == (kind, 120, 80)
    assert body["uri"].endswith(f".{extension}")
    again = client.post("/v1/uploads/photos", content=data)
    assert again.json()["uri"] == body["uri"]


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"\xff\xd8\xff\xe0 this claims to be a JPEG but is not", "not an image"),
        (b"GIF89a" + b"\x00" * 100, "not an image"),
        (b"", "empty"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "not an image"),
        (image("JPEG")[:200], "not an image"),  # truncated
        (image("GIF"), "JPEG, PNG or WebP"),
        (image("PNG", (10, 10)), "pixels"),
        (image("PNG", (9000, 40)), "pixels"),
    ],
)
@pytest.mark.parametrize("backend", ["memory"], indirect=True)
def test_anything_else_is_refused_by_content(client: TestClient, data: bytes, says: str) -> None:
    refused = client.post(
        "/v1/uploads/photos", content=data, headers={"content-type": "image/jpeg"}
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "invalid-photo" and says in refused.json()["detail"]


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
def test_a_huge_upload_is_cut_off(client: TestClient) -> None:
    refused = client.post("/v1/uploads/photos", content=b"\x00" * (5 * 1024 * 1024 + 1))
    assert refused.status_code == 422 and "MiB" in refused.json()["detail"]


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
def test_uploads_need_a_signed_in_account(app: injector.Injector) -> None:
    anonymous = TestClient(create_app(app), raise_server_exceptions=False)
    assert anonymous.post("/v1/uploads/photos", content=image("PNG")).status_code == 401


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
def test_a_photo_loses_its_metadata(client: TestClient, app: injector.Injector) -> None:
    from shequ.application.ports import BlobStore

    exif = Image.Exif()
    exif[0x010F] = "Secret Camera Co"  # Make
    buffer = io.BytesIO()
    Image.new("RGB", (100, 100), (10, 200, 10)).save(buffer, format="JPEG", exif=exif)
    assert b"Secret Camera Co" in buffer.getvalue()
    stored = client.post("/v1/uploads/photos", content=buffer.getvalue())
    assert stored.status_code == 201, stored.text
    blobs = app.get(BlobStore).blobs  # type: ignore[attr-defined]
    [(kept, content_type)] = blobs.values()
    assert content_type == "image/jpeg" and b"Secret Camera Co" not in kept
    assert dict(Image.open(io.BytesIO(kept)).getexif()) == {}
    assert stored.json()["bytes"] == len(kept)
