"""`generate_library`: a realistic, deterministic library of any size for tests, benchmarks and the demo.

What makes it realistic is what the autotag rules meet in real libraries: file names from
cameras, phones, WhatsApp, Signal, screenshots and scanners; EXIF dates present, missing (WhatsApp,
Signal, screenshots: the file date is the upload date) or wrong (1970, 2000-01-01); dated and
undated albums; hierarchical tags including the classifying ones; duplicate groups whose members
are classified differently; archived, hidden and trashed assets; an external library; and a
partner whose assets show in the owner's search. Same seed, same library (ids included).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from random import Random

from immich_mirror.fake.library import FakeLibrary
from immich_mirror.fake.state import (
    MIME_TYPES,
    FakeAlbum,
    FakeAsset,
    FakePerson,
    FakeTag,
    checksum_of,
    local_of,
    new_id,
)

TAG_VALUES = (
    "autotag_input_meme", "autotag_input_adult_meme", "autotag_input_pending_review", "autotag_input_ignore",
    "meme", "receipt", "people/alice", "people/bob", "people/carol", "places/paris", "places/beach",
    "places/home", "events/wedding", "events/birthday", "autotag/input/meme", "autotag/output/meme",
    "documents/id", "pets/cat",
)
UNDATED_ALBUMS = ("Favourites", "Best of", "Family", "Memes", "Screenshots to sort", "Recipes", "Pets")
ALBUM_TOPICS = ("Beach", "Christmas", "New Year", "Wedding", "Alps hike", "Camping", "Paris trip",
                "Birthday", "Garden", "Concert")
_UPLOAD_BASE = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
_CAMERAS = {"phone": ("Google", "Pixel 7"), "camera": ("SONY", "ILCE-7M3"), "video": ("samsung", "SM-G973F")}
_TIME_ZONES = (None, "Europe/Berlin", "Europe/Madrid", "America/New_York", "UTC+2")


def _name_and_exif(rng: Random, taken: datetime, index: int) -> tuple[str, bool, str]:
    """(file name, has EXIF date, kind) for one asset; the kind drives the rest."""
    roll = rng.random()
    stamp = taken.strftime("%Y%m%d_%H%M%S")
    if roll < 0.22:
        return f"IMG_{stamp}.jpg", True, "camera"
    if roll < 0.32:
        return f"DSC{index % 100000:05d}.JPG", True, "camera"
    if roll < 0.50:
        return f"PXL_{stamp}{rng.randrange(1000):03d}.jpg", True, "phone"
    if roll < 0.65:
        return f"IMG-{taken:%Y%m%d}-WA{rng.randrange(10000):04d}.jpg", False, "whatsapp"
    if roll < 0.72:
        return f"Screenshot_{taken:%Y-%m-%d-%H-%M-%S}.png", False, "screenshot"
    if roll < 0.75:
        return f"Screenshot {taken:%Y-%m-%d} at {taken:%H.%M.%S}.png", False, "screenshot"
    if roll < 0.79:
        return f"signal-{taken:%Y-%m-%d-%H%M%S}.jpg", False, "signal"
    if roll < 0.84:
        return f"scan_{index % 10000:04d}.jpg", False, "scan"
    if roll < 0.94:
        return f"VID_{stamp}.mp4", True, "video"
    return f"IMG_{index:04d}.HEIC", True, "camera"


def generate_library(
    n_assets: int,
    seed: int = 0,
    *,
    version: str = "3.1.0",
    api_key: str = "fake-api-key",
    partner_assets: int = 20,
    lost_writes_rate: float = 0.0,
    lost_writes_window_ms: float = 1000.0,
    jobs: str = "immediate",
    album_every: int = 300,
) -> FakeLibrary:
    """A library of `n_assets` owner assets (+ `partner_assets` of a partner); 100k take a few seconds.

    About one album per `album_every` assets (10% of the assets are in albums, some in two)."""
    # A stream of its own: seeded like the library's, the generator's ids would come again from the
    # library when the tool creates a tag or album, and two objects would share an id.
    rng = Random(f"generate:{seed}")
    lib = FakeLibrary(version=version, bootstrap=False, seed=seed, jobs=jobs,
                      lost_writes_rate=lost_writes_rate, lost_writes_window_ms=lost_writes_window_ms)
    owner = lib.add_user("admin@example.com", "Fake Admin", id=new_id(rng), is_admin=True,
                         storage_label="admin")
    friend = lib.add_user("friend@example.com", "Fake Friend", id=new_id(rng), avatar_color="amber")
    for user in (owner, friend):
        user.created_at = user.updated_at = user.profile_changed_at = _UPLOAD_BASE - timedelta(days=1)
    lib.add_api_key(owner.id, secret=api_key, id=new_id(rng), name="generated")
    lib.add_partner(friend.id, owner.id)
    external_library = new_id(rng)

    tags = _make_tags(lib, rng, owner.id)
    assets = [_make_asset(lib, rng, i, owner.id, external_library) for i in range(n_assets)]
    assets += [_make_asset(lib, rng, n_assets + i, friend.id, None) for i in range(partner_assets)]
    for asset in assets:
        lib.assets[asset.id] = asset
    own = assets[:n_assets]
    _make_duplicates(rng, own)
    _tag_assets(lib, rng, own, tags)
    _make_albums(lib, rng, own, owner.id, album_every)
    friend_album = _album(lib, rng, friend.id, "Friend's trip", [a.id for a in assets[n_assets:]][:10])
    friend_album.shared_with[owner.id] = "viewer"
    if lib.albums:
        first_owned = next(a for a in lib.albums.values() if a.owner_id == owner.id)
        link = lib.create_shared_link(first_owned.id)
        link.created_at = _UPLOAD_BASE + timedelta(days=2)
    for asset in assets:
        asset.sidecar_tags = {lib.tags[t].value for t in lib.asset_tags.get(asset.id, ())}
    _make_people(lib, Random(f"people:{seed}"), own, owner.id)
    lib.revision += 1
    return lib


PEOPLE = ("Alice", "Bob", "Carol", "")  # "" : a face cluster nobody named yet


def _make_people(lib: FakeLibrary, rng: Random, assets: list[FakeAsset], owner_id: str) -> None:
    """A few people, each recognised in about 2% of the photos (a stream of its own, so the rest of the
    generated library is what it was before people existed)."""
    photos = [a for a in assets if a.type == "IMAGE"]
    for name in PEOPLE:
        members = [a.id for a in photos if rng.random() < 0.02]
        if not members and photos:
            members = [rng.choice(photos).id]
        person = FakePerson(id=new_id(rng), owner_id=owner_id, name=name, asset_ids=set(members),
                            created_at=_UPLOAD_BASE, updated_at=_UPLOAD_BASE)
        lib.people[person.id] = person


def _make_asset(lib: FakeLibrary, rng: Random, index: int, owner_id: str, external: str | None) -> FakeAsset:
    taken = datetime(2010, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(16 * 365 * 86400))
    name, has_exif, kind = _name_and_exif(rng, taken, index)
    uploaded = _UPLOAD_BASE + timedelta(seconds=index * 7 + rng.randrange(5))
    exif: datetime | None = taken if has_exif else None
    wrong = rng.random()
    if has_exif and wrong < 0.02:
        exif = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(86400))
    elif has_exif and wrong < 0.04:
        exif = datetime(2000, 1, 1, tzinfo=UTC)
    time_zone = rng.choice(_TIME_ZONES) if exif else None
    file_date = exif or uploaded  # no EXIF: Immich dates the asset by the upload
    aid = new_id(rng)
    library_id = external if owner_id == lib.owner_id and external and rng.random() < 0.05 else None
    ext = name.rsplit(".", 1)[-1]
    if library_id:
        folder = f"{taken:%Y-%m-%d} {rng.choice(ALBUM_TOPICS)}"
        path = f"/mnt/photos/{taken:%Y}/{folder}/{name}"
    else:
        path = f"/data/upload/{owner_id}/{aid[:2]}/{aid[2:4]}/{aid}.{ext}"
    roll = rng.random()
    visibility = "archive" if roll < 0.03 else "hidden" if roll < 0.04 else "timeline"
    video = kind == "video"
    width, height = ((1920, 1080) if video else (4032, 3024)) if kind not in ("screenshot", "scan") else (
        (1080, 2400) if kind == "screenshot" else (2480, 3508))
    make, model = _CAMERAS.get(kind, (None, None))
    return FakeAsset(
        id=aid, owner_id=owner_id, original_file_name=name, original_path=path, checksum=checksum_of(aid),
        file_created_at=file_date, file_modified_at=file_date,
        local_date_time=local_of(file_date, time_zone), created_at=uploaded,
        updated_at=uploaded + timedelta(seconds=30), type="VIDEO" if video else "IMAGE",
        original_mime_type=MIME_TYPES.get(ext.lower(), "image/jpeg"),
        thumbhash=checksum_of("t" + aid)[:24], date_time_original=exif, time_zone=time_zone if exif else None,
        make=make, model=model, file_size_in_byte=rng.randrange(40_000, 8_000_000),
        visibility=visibility, deleted_at=uploaded + timedelta(days=3) if rng.random() < 0.01 else None,
        library_id=library_id, width=width, height=height,
        duration_ms=rng.randrange(2000, 120_000) if video else None, device_asset_id=f"gen-{index}",
    )


def _make_tags(lib: FakeLibrary, rng: Random, owner_id: str) -> list[FakeTag]:
    stamp = _UPLOAD_BASE - timedelta(hours=1)
    made: list[FakeTag] = []
    for value in TAG_VALUES:
        parent_id = None
        parts = value.split("/")
        for depth in range(1, len(parts) + 1):
            path = "/".join(parts[:depth])
            tag = lib.tag_by_value(path, owner_id)
            if tag is None:
                tag = FakeTag(id=new_id(rng), user_id=owner_id, value=path, parent_id=parent_id,
                              created_at=stamp, updated_at=stamp)
                lib.tags[tag.id] = tag
                lib.tag_members[tag.id] = set()
            parent_id = tag.id
        made.append(lib.tags[parent_id or ""])
    return made


def _tag_assets(lib: FakeLibrary, rng: Random, assets: list[FakeAsset], tags: list[FakeTag]) -> None:
    for asset in assets:
        if rng.random() < 0.08:
            for tag in rng.sample(tags, rng.choice((1, 1, 2))):
                lib.tag_members[tag.id].add(asset.id)
                lib.asset_tags.setdefault(asset.id, set()).add(tag.id)


def _make_duplicates(rng: Random, assets: list[FakeAsset]) -> None:
    """About 5% of assets in groups of 2-3 (members of a group may be tagged differently)."""
    pool = [a for a in assets if a.deleted_at is None]
    rng.shuffle(pool)
    i = 0
    target = len(assets) // 20
    while i < target and i + 1 < len(pool):
        size = min(rng.choice((2, 2, 3)), len(pool) - i)
        group = new_id(rng)
        for asset in pool[i:i + size]:
            asset.duplicate_id = group
        i += size


def _album(lib: FakeLibrary, rng: Random, owner_id: str, name: str, members: list[str]) -> FakeAlbum:
    created = _UPLOAD_BASE + timedelta(days=1, seconds=len(lib.albums))
    album = FakeAlbum(id=new_id(rng), owner_id=owner_id, name=name, created_at=created, updated_at=created,
                      description="generated")
    album.members = dict.fromkeys(members, created)
    album.thumbnail_asset_id = members[0] if members else None
    lib.albums[album.id] = album
    return album


def _make_albums(lib: FakeLibrary, rng: Random, assets: list[FakeAsset], owner_id: str, every: int) -> None:
    """About 10% of assets in albums (some in two); dated and undated album names."""
    count = max(len(UNDATED_ALBUMS) + 3, len(assets) // every)
    names = list(UNDATED_ALBUMS)
    while len(names) < count:
        day = datetime(2012, 1, 1) + timedelta(days=rng.randrange(12 * 365))
        names.append(f"{day:%Y-%m-%d} {rng.choice(ALBUM_TOPICS)}")
    chosen = [a.id for a in assets if rng.random() < 0.10]
    buckets: list[list[str]] = [[] for _ in names]
    for aid in chosen:
        buckets[rng.randrange(len(names))].append(aid)
        if rng.random() < 0.15:
            buckets[rng.randrange(len(names))].append(aid)
    buckets[0] = buckets[0][: max(1, len(buckets[0]))]
    for name, members in zip(names, buckets, strict=True):
        _album(lib, rng, owner_id, name, list(dict.fromkeys(members)))
    _album(lib, rng, owner_id, "Empty album", [])
