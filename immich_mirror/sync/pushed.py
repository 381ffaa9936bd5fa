"""What the last push verified, so that the next sync does not re-read those assets' tags.

A push's tag writes bump each written asset's ``updatedAt`` once Immich's jobs re-read its sidecar
(API-NOTES 0b), so the next sync's asset pass finds every written asset "changed", and re-reading their
tags would cost one search per tag (and per visibility on 2.x). The pusher already knows their tags: it
wrote them into the mirror as the server confirmed each call, then read back the membership of every
tag it wrote once the server had settled, and corrected what was lost. So it records here the assets it
verified and the server's clock as its last verification round began reading (``verified_from``).

The next sync trusts an asset of that list, and leaves its tags alone, when all of these hold:

- its ``updatedAt`` lies before ``verified_from``: whatever changed it had happened, jobs included,
  when the verification read the tags (a write Immich lost after that, or anyone's change after that,
  stamps the asset later and is re-read as usual);
- nothing but ``updatedAt`` differs from the row the mirror has (another change is someone else's
  doing: the asset's tags are re-read then).

The price, stated in docs/reliability.md: a tag another user or client adds to or removes from one of
the assets the push writes, while the push runs (before its verification), looks like the push's own
bump and is not seen until that asset changes again or a ``sync --full``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import orjson
from sqlalchemy import Connection, Engine, text

from immich_mirror.api.client import ImmichClient
from immich_mirror.sync.context import get_state, parse_ts, set_state
from immich_mirror.sync.rows import ts
from immich_mirror.sync.tags import own_new_tags, record_tags

KEY = "push.verified"


def record_push(
    client: ImmichClient,
    engine: Engine,
    written: Mapping[str, tuple[set[str], set[str]]],
    verified_from: datetime | None,
    created: Iterable[str],
) -> None:
    """After a push: store the tag records its writes moved, and the assets it verified.

    ``written``: tag id -> (assets given the tag, assets it was taken from). A tag write moves the tag's
    ``updatedAt`` at once, and Immich's jobs then re-read each written asset's sidecar and upsert every
    tag it carries, parents included (API-NOTES 0b): the records of those tags are stored as the server
    has them now when only their ``updatedAt`` moved (a renamed, recoloured or moved tag is left for the
    sync to see), and so are the tags the push ``created`` (values) when the tree moved by nothing else.
    ``verified_from`` is None when no verification round ran: then no asset is trusted.
    """
    assets = set().union(*(present | absent for present, absent in written.values()))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, value, parent_id, color FROM tags"))
        mirror = {r[0]: (r[1], r[2], r[3]) for r in rows}
        carried: set[str] = set(written)
        ids = sorted(assets)
        for i in range(0, len(ids), 900):
            chunk = ids[i : i + 900]
            marks = ", ".join("?" for _ in chunk)
            sql = f"SELECT DISTINCT tag_id FROM asset_tags WHERE asset_id IN ({marks})"
            carried.update(r[0] for r in conn.exec_driver_sql(sql, tuple(chunk)))
    moved: set[str] = set()
    for tag_id in carried:
        while tag_id and tag_id not in moved:  # the tag and its parents
            moved.add(tag_id)
            tag_id = (mirror.get(tag_id) or ("", None, None))[1] or ""
    listed = client.list_tags()
    same = [
        t for t in listed if t.id in moved and (t.id not in mirror or mirror[t.id] == (t.value, t.parent_id, t.color))
    ]
    with engine.begin() as conn:
        record_tags(conn, same + own_new_tags(conn, listed, created))
        if verified_from is not None:
            record_push_verified(conn, verified_from, assets)


def record_push_verified(conn: Connection, verified_from: datetime, assets: Iterable[str]) -> None:
    value = orjson.dumps({"verified_from": ts(verified_from), "assets": sorted(assets)}).decode()
    set_state(conn, KEY, value)


def load_push_verified(conn: Connection) -> tuple[datetime, frozenset[str]] | None:
    raw = get_state(conn, KEY)
    if not raw:
        return None
    try:
        data = orjson.loads(raw)
        return parse_ts(data["verified_from"]), frozenset(data["assets"])
    except (ValueError, KeyError, TypeError):  # unreadable: trust nothing
        return None
