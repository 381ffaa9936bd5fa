"""Server info, the caller's user and key, shared links, people, job queues and the sync endpoints."""

from __future__ import annotations

import json
from typing import Any

from immich_mirror.fake import serialize as ser
from immich_mirror.fake.http_errors import ApiFailure
from immich_mirror.fake.routing import NO_CONTENT, Ctx, Reply, Route, fail
from immich_mirror.fake.state import FakeSharedLink, fmt_z, new_id

QUEUE_NAMES = (
    "thumbnailGeneration", "metadataExtraction", "videoConversion", "faceDetection", "facialRecognition",
    "smartSearch", "duplicateDetection", "backgroundTask", "storageTemplateMigration", "migration",
    "search", "sidecar", "library", "notifications", "backupDatabase", "ocr", "workflow", "editor",
)
# Entity types a client may ack (SyncEntityType); anything else is "Invalid ack type".
SYNC_ACK_TYPES = frozenset([
    "AuthUserV1", "UserV1", "UserDeleteV1", "PartnerV1", "PartnerDeleteV1", "AssetV1", "AssetV2",
    "AssetDeleteV1", "AssetExifV1", "AssetMetadataV1", "AssetMetadataDeleteV1", "AssetEditV1",
    "AssetEditDeleteV1", "AssetOcrV1", "AssetOcrDeleteV1", "PartnerAssetV1", "PartnerAssetV2",
    "PartnerAssetBackfillV1", "PartnerAssetBackfillV2", "PartnerAssetDeleteV1", "PartnerAssetExifV1",
    "PartnerAssetExifBackfillV1", "PartnerStackV1", "PartnerStackBackfillV1", "PartnerStackDeleteV1",
    "AlbumV1", "AlbumV2", "AlbumDeleteV1", "AlbumUserV1", "AlbumUserBackfillV1", "AlbumUserDeleteV1",
    "AlbumAssetCreateV1", "AlbumAssetUpdateV1", "AlbumAssetBackfillV1", "AlbumAssetCreateV2",
    "AlbumAssetUpdateV2", "AlbumAssetBackfillV2", "AlbumAssetExifCreateV1", "AlbumAssetExifUpdateV1",
    "AlbumAssetExifBackfillV1", "AlbumToAssetV1", "AlbumToAssetDeleteV1", "AlbumToAssetBackfillV1",
    "StackV1", "StackDeleteV1", "PersonV1", "PersonDeleteV1", "AssetFaceV1", "AssetFaceV2",
    "AssetFaceV3", "AssetFaceDeleteV1", "MemoryV1", "MemoryV2", "MemoryDeleteV1", "MemoryToAssetV1",
    "MemoryToAssetV2", "MemoryToAssetDeleteV1", "UserMetadataV1", "UserMetadataDeleteV1", "SyncAckV1",
    "SyncResetV1", "SyncCompleteV1", "AuthUserV2",
])


def ping(ctx: Ctx) -> Reply:
    return 200, {"res": "pong"}


def version(ctx: Ctx) -> Reply:
    return 200, ser.server_version(ctx.version)


def features(ctx: Ctx) -> Reply:
    return 200, ser.server_features(ctx.version)


def about(ctx: Ctx) -> Reply:
    return 200, ser.server_about(ctx.version)


def users_me(ctx: Ctx) -> Reply:
    return 200, ser.user_me(ctx.user)


def api_keys_me(ctx: Ctx) -> Reply:
    if ctx.key is None:
        raise fail(403, "This endpoint can only be used with an API key")
    return 200, ser.api_key(ctx.key)


# Immich's default `machineLearning.facialRecognition.minFaces`: an unnamed person with fewer faces is
# not listed (person.repository.ts getAllForUser).
MIN_FACES = 3


def people(ctx: Ctx) -> Reply:
    """``GET /people`` as person.repository.ts lists them: the user's people with a face on a timeline
    asset that is not trashed, unnamed ones only with ``MIN_FACES`` faces, hidden ones only with
    ``withHidden``; ``total``/``hidden`` count every listed-able person whatever the page."""
    try:
        page = int(ctx.query.get("page", "1"))
        size = int(ctx.query.get("size", "500"))
    except ValueError:
        raise fail(400, "page and size must be numbers") from None
    if page < 1 or not 1 <= size <= 1000:
        raise fail(400, "size must not be greater than 1000")
    listed = []
    for p in ctx.lib.people.values():
        if p.owner_id != ctx.user.id:
            continue
        faces = sum(1 for a in p.asset_ids if a in ctx.lib.assets and not ctx.lib.assets[a].is_trashed
                    and ctx.lib.assets[a].visibility == "timeline")
        if faces and (p.name or faces >= MIN_FACES):
            listed.append((p, faces))
    listed.sort(key=lambda pf: (pf[0].is_hidden, not pf[0].name, -pf[1], pf[0].name,
                                pf[0].created_at or ctx.lib.clock.peek()))
    total, hidden = len(listed), sum(1 for p, _ in listed if p.is_hidden)
    if not ctx.query_bool("withHidden"):
        listed = [pf for pf in listed if not pf[0].is_hidden]
    chunk = listed[(page - 1) * size : page * size + 1]
    items = [{"id": p.id, "name": p.name, "birthDate": None, "thumbnailPath": f"/data/thumbs/{p.id}.jpeg",
              "isHidden": p.is_hidden, "isFavorite": False,
              "updatedAt": fmt_z(p.updated_at) if p.updated_at else None} for p, _ in chunk[:size]]
    return 200, {"people": items, "hasNextPage": len(chunk) > size, "total": total, "hidden": hidden}


def _link(ctx: Ctx, link: FakeSharedLink) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": link.id, "description": link.description, "password": None, "userId": link.user_id,
        "key": link.key, "type": link.type, "createdAt": fmt_z(link.created_at), "expiresAt": None,
        "assets": [ser.asset(ctx.lib, ctx.lib.assets[a], ctx.version, with_exif=True)
                   for a in link.asset_ids if a in ctx.lib.assets],
    }
    if link.album_id and link.album_id in ctx.lib.albums:
        out["album"] = ser.album(ctx.lib, ctx.lib.albums[link.album_id], ctx.version, view="nested")
    out.update(allowUpload=True, allowDownload=True, showMetadata=True, slug=link.slug)
    return out


def shared_links(ctx: Ctx) -> Reply:
    links = [
        link for link in ctx.lib.shared_links.values()
        if link.user_id == ctx.user.id
        and ctx.query.get("albumId", link.album_id) == link.album_id
        and ctx.query.get("id", link.id) == link.id
    ]
    return 200, [_link(ctx, link) for link in sorted(links, key=lambda x: x.created_at, reverse=True)]


def queues(ctx: Ctx) -> Reply:
    pending = ctx.lib.pending_jobs()
    return 200, [
        {"name": name, "isPaused": False, "statistics": {
            "active": 0, "completed": 0, "delayed": 0, "failed": 0, "paused": 0,
            "waiting": pending.get(name, 0)}}
        for name in QUEUE_NAMES
    ]


def asset_jobs(ctx: Ctx) -> Reply:
    body = ctx.json_body()
    check = ctx.check()
    ids = check.uuids(body, "assetIds")
    name = check.choice(body, "name", ("refresh-faces", "refresh-metadata", "regenerate-thumbnail",
                                       "transcode-video"))
    if "name" not in body:
        check.missing_type("name", "string", None, "name must be one of the following values: "
                           "refresh-faces, refresh-metadata, regenerate-thumbnail, transcode-video")
    check.done()
    ctx.owned_assets(ids, "asset.update")
    if name == "refresh-metadata":
        ctx.lib.refresh_metadata(ids)
    return 204, NO_CONTENT


# -- sync: only the parts a client with an API key meets, plus acks for session tokens --------


def sync_ack_get(ctx: Ctx) -> Reply:
    acks = ctx.lib.sync_acks.get(ctx.token or "", {})
    return 200, [{"type": t, "ack": a} for t, a in acks.items()]


def sync_ack_post(ctx: Ctx) -> Reply:
    body = ctx.json_body()
    acks = body.get("acks")
    if not isinstance(acks, list):
        check = ctx.check()
        check.missing_type("acks", "array", acks, "acks must be an array")
        check.done()
        return 400, None
    for ack in acks:
        kind = str(ack).split("|", 1)[0]
        if kind not in SYNC_ACK_TYPES:
            raise fail(400, f"Invalid ack type: {kind}")
    if not acks:
        # Recorded on both versions: an empty list makes the server's SQL fail.
        raise ApiFailure(500, "Failed to send sync ack")
    store = ctx.lib.sync_acks.setdefault(ctx.token or "", {})
    for ack in acks:
        store[str(ack).split("|", 1)[0]] = str(ack)
    return 204, NO_CONTENT


def sync_ack_delete(ctx: Ctx) -> Reply:
    if not ctx.has_body and not ctx.v2:
        ctx.json_body()  # v3 requires an object body (recorded 400 without one)
    types = ctx.body.get("types") if isinstance(ctx.body, dict) else None
    store = ctx.lib.sync_acks.setdefault(ctx.token or "", {})
    for kind in list(store):
        if types is None or kind in types:
            del store[kind]
    return 204, NO_CONTENT


def sync_stream(ctx: Ctx) -> Reply:
    """A stub: a session gets only the closing line (the mirror reads assets through search)."""
    line = {"type": "SyncCompleteV1", "data": {}, "ack": f"SyncCompleteV1|{new_id()}"}
    return 200, ("jsonlines", json.dumps(line) + "\n")


ROUTES = [
    Route("GET", "server/ping", ping, auth=False),
    Route("GET", "server/version", version, auth=False),
    Route("GET", "server/features", features, auth=False),
    Route("GET", "server/about", about, "server.about"),
    Route("GET", "users/me", users_me, "user.read"),
    Route("GET", "api-keys/me", api_keys_me),
    Route("GET", "people", people, "person.read"),
    Route("GET", "shared-links", shared_links, "sharedLink.read"),
    Route("GET", "queues", queues, "queue.read", admin=True),
    Route("POST", "assets/jobs", asset_jobs, "job.create"),
    Route("GET", "sync/ack", sync_ack_get, "syncCheckpoint.read", sync=True),
    Route("POST", "sync/ack", sync_ack_post, "syncCheckpoint.update", sync=True),
    Route("DELETE", "sync/ack", sync_ack_delete, "syncCheckpoint.delete", sync=True),
    Route("POST", "sync/stream", sync_stream, "sync.stream", sync=True),
]
