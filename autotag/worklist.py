"""What is left for a person to do, read from the rule views: conflicts with their causes, and the
unclassified grouped by the day they were taken (the events that still need an album).

Reads the ``classification`` views the last classify installed; names, not ids, in what it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

_TAKEN = "coalesce(a.local_date_time, a.file_created_at)"


@dataclass
class Conflict:
    asset_id: str
    file_name: str | None
    taken: str | None
    rules: list[str]
    # (rule, what made it match): album names and tag values; a rule with an SQL predicate has neither
    causes: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Day:
    day: str  # YYYY-MM-DD, or "" for assets without a date
    count: int
    asset_ids: list[str]  # the first few, for thumbnails


def _marks(ids: Sequence[str]) -> tuple[str, dict[str, str]]:
    return ", ".join(f":i{n}" for n in range(len(ids))), {f"i{n}": v for n, v in enumerate(ids)}


def conflicts(conn: Connection, *, limit: int, offset: int = 0) -> tuple[int, list[Conflict]]:
    """A page of the assets in conflict (oldest first), each with the albums and tags that cause it."""
    total = int(conn.execute(text("SELECT count(*) FROM conflicts")).scalar_one())
    rows = conn.execute(
        text(
            f"SELECT c.asset_id, a.original_file_name, {_TAKEN}, c.matched_rules FROM conflicts AS c "
            f"JOIN assets AS a ON a.id = c.asset_id ORDER BY {_TAKEN}, c.asset_id LIMIT :limit OFFSET :offset"
        ),
        {"limit": limit, "offset": offset},
    ).all()
    page = [
        Conflict(
            str(r[0]), r[1], str(r[2])[:19].replace("T", " ") if r[2] else None, str(r[3] or "").split(",")
        )
        for r in rows
    ]
    if not page:
        return total, page
    by_id = {c.asset_id: c for c in page}
    marks, params = _marks(list(by_id))
    causes = conn.execute(
        text(
            "SELECT aa.asset_id, ca.rule, 'album \"' || al.name || '\"' FROM album_assets AS aa "
            "JOIN classifying_albums AS ca ON ca.album_id = aa.album_id JOIN albums AS al ON al.id = aa.album_id "
            f"WHERE aa.asset_id IN ({marks}) "
            "UNION "
            "SELECT at.asset_id, ct.rule, 'tag ' || t.value FROM asset_tags AS at "
            "JOIN classifying_tags AS ct ON ct.tag_id = at.tag_id JOIN tags AS t ON t.id = at.tag_id "
            f"WHERE at.asset_id IN ({marks}) ORDER BY 1, 2, 3"
        ),
        params,
    )
    for asset_id, rule, what in causes:
        by_id[str(asset_id)].causes.append((str(rule), str(what)))
    return total, page


def unclassified_days(
    conn: Connection, *, limit: int, offset: int = 0, per_day: int = 12
) -> tuple[int, int, list[Day]]:
    """(unclassified assets, days, a page of days newest first with a few assets of each)."""
    day = f"coalesce(substr({_TAKEN}, 1, 10), '')"
    totals = conn.execute(
        text(f"SELECT count(*), count(DISTINCT {day}) FROM unclassified AS u JOIN assets AS a ON a.id = u.asset_id")
    ).one()
    days = conn.execute(
        text(
            f"SELECT {day} AS d, count(*) FROM unclassified AS u JOIN assets AS a ON a.id = u.asset_id "
            "GROUP BY d ORDER BY d DESC LIMIT :limit OFFSET :offset"
        ),
        {"limit": limit, "offset": offset},
    ).all()
    out: list[Day] = []
    for d, n in days:
        ids = conn.execute(
            text(
                f"SELECT u.asset_id FROM unclassified AS u JOIN assets AS a ON a.id = u.asset_id "
                f"WHERE {day} = :d ORDER BY {_TAKEN}, u.asset_id LIMIT :n"
            ),
            {"d": d, "n": per_day},
        ).scalars()
        out.append(Day(str(d), int(n), [str(i) for i in ids]))
    return int(totals[0]), int(totals[1]), out
