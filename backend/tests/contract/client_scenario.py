"""A client generated from the spec takes a new user's first steps.

`openapi-python-client` generates the package `gallery_client` from the server's
`/api/openapi.json`; this scenario uses nothing but that package to sign in with Max initData,
upload a photo, find it in the feed, favorite it and read the events that followed. Every
answer must parse into the generated models, and an answer with a status the spec does not
list raises (`raise_on_unexpected_status`).

Usage: PYTHONPATH=<dir holding gallery_client> python client_scenario.py <base url>
(GALLERY_BIN and GALLERY_BOT_TOKEN as for sign_in.py.)
"""

import io
import struct
import sys
import zlib

from gallery_client import AuthenticatedClient, Client
from gallery_client.api.auth import sign_in_with_max
from gallery_client.api.photos import favorite_photo, list_photos, upload_photo
from gallery_client.api.realtime import list_events
from gallery_client.models import (
    EventFavoriteCount,
    EventPage,
    EventPhotoCreated,
    MaxSignInRequest,
    Photo,
    PhotoPage,
    TokenResponse,
    UploadPhotoBody,
)
from gallery_client.types import File

from sign_in import signed_init_data


def png(width: int, height: int) -> bytes:
    """A gradient as a PNG, written by hand (no imaging library needed)."""
    # Each row: filter type 0, then red, green, blue of every pixel.
    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 128)) for x in range(width))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)


def main(base_url: str) -> None:
    api = f"{base_url}/api"
    anonymous = Client(base_url=api, raise_on_unexpected_status=True)

    tokens = sign_in_with_max.sync(
        client=anonymous,
        body=MaxSignInRequest(init_data=signed_init_data(7301, "Python")),
    )
    expect(isinstance(tokens, TokenResponse), f"signed in: {tokens!r}")
    expect(tokens.user.display_name == "Python", f"the user: {tokens.user!r}")
    client = AuthenticatedClient(
        base_url=api, token=tokens.access_token, raise_on_unexpected_status=True
    )

    image = File(payload=io.BytesIO(png(48, 32)), file_name="gradient.png", mime_type="image/png")
    photo = upload_photo.sync(
        client=client,
        body=UploadPhotoBody(file=image, title="Generated", tags="python, client"),
    )
    expect(isinstance(photo, Photo), f"uploaded: {photo!r}")
    expect(photo.tags == ["python", "client"], f"tags: {photo.tags!r}")
    expect(photo.owner.id == tokens.user.id, "the uploader owns it")

    page = list_photos.sync(client=client, limit=10)
    expect(isinstance(page, PhotoPage), f"the feed: {page!r}")
    expect([item.id for item in page.items] == [photo.id], f"the feed: {page.items!r}")
    expect(page.next_cursor is None, "one page")

    favorited = favorite_photo.sync(id=photo.id, client=client)
    expect(isinstance(favorited, Photo), f"favorited: {favorited!r}")
    expect(favorited.favorited and favorited.favorite_count == 1, f"{favorited!r}")

    events = list_events.sync(client=client, after=0)
    expect(isinstance(events, EventPage), f"events: {events!r}")
    kinds = [type(item.event) for item in events.events]
    expect(kinds == [EventPhotoCreated, EventFavoriteCount], f"events: {events.events!r}")
    created, counted = (item.event for item in events.events)
    expect(created.photo.id == photo.id, f"created: {created!r}")
    expect((counted.photo_id, counted.favorite_count) == (photo.id, 1), f"count: {counted!r}")
    print(f"the generated client signed in, uploaded photo {photo.id}, listed, favorited it "
          f"and read {len(events.events)} events")


if __name__ == "__main__":
    main(sys.argv[1])
