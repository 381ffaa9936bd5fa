"""The mirror's tables as SQLAlchemy 2.0 typed models; ``docs/schema.md`` documents every column.

Two halves share one file and one migration chain, because they share one SQLite database and one
transaction boundary (a plan and its outbox rows commit together):

- the *read side*, a copy of Immich: ``assets``, ``albums``, ``album_assets``, ``tags``, ``asset_tags``,
  plus ``sync_state`` (watermarks) and ``sync_runs``;
- the *write side*: ``outbox`` (mutations to apply), ``changes`` (what was applied, with the value
  before, for undo and reports) and ``runs`` (one row per autotag command that changes things).

Timestamps are ISO-8601 UTC text (``2024-05-01T10:00:00.000Z``): they sort correctly as text, which
keeps user SQL and indexes simple, and they are what Immich sends.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints so that Alembic's batch mode (SQLite rebuilds tables to alter them) can find them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Asset(Base):
    __tablename__ = "assets"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    owner_id: Mapped[str] = mapped_column(String, index=True)
    type: Mapped[str] = mapped_column(String)
    original_file_name: Mapped[str | None] = mapped_column(String)
    original_path: Mapped[str | None] = mapped_column(String)
    checksum: Mapped[str | None] = mapped_column(String)
    file_created_at: Mapped[str | None] = mapped_column(String, index=True)
    file_modified_at: Mapped[str | None] = mapped_column(String)
    local_date_time: Mapped[str | None] = mapped_column(String, index=True)
    date_time_original: Mapped[str | None] = mapped_column(String)
    time_zone: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[str | None] = mapped_column(String)
    updated_at: Mapped[str | None] = mapped_column(String, index=True)
    visibility: Mapped[str] = mapped_column(String, server_default="timeline")
    is_favorite: Mapped[bool] = mapped_column(Boolean, server_default=text("0"))
    is_trashed: Mapped[bool] = mapped_column(Boolean, server_default=text("0"))
    deleted_at: Mapped[str | None] = mapped_column(String)
    duplicate_id: Mapped[str | None] = mapped_column(String, index=True)
    stack_id: Mapped[str | None] = mapped_column(String)
    live_photo_video_id: Mapped[str | None] = mapped_column(String)
    library_id: Mapped[str | None] = mapped_column(String)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    raw: Mapped[str | None] = mapped_column(Text)
    # The sync run that last wrote this row: "what changed in the last sync" is one WHERE clause.
    synced_run: Mapped[int | None] = mapped_column(Integer)


class Album(Base):
    __tablename__ = "albums"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String, index=True)
    description: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[str | None] = mapped_column(String)
    asset_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    created_at: Mapped[str | None] = mapped_column(String)
    updated_at: Mapped[str | None] = mapped_column(String)
    start_date: Mapped[str | None] = mapped_column(String)
    end_date: Mapped[str | None] = mapped_column(String)
    last_modified_asset_timestamp: Mapped[str | None] = mapped_column(String)
    shared: Mapped[bool] = mapped_column(Boolean, server_default=text("0"))
    is_owned: Mapped[bool] = mapped_column(Boolean, server_default=text("1"))
    raw: Mapped[str | None] = mapped_column(Text)
    # (updatedAt, assetCount, lastModifiedAssetTimestamp) when the members were last listed: members
    # are listed again only when the server's triple differs.
    members_key: Mapped[str | None] = mapped_column(String)


class AlbumAsset(Base):
    __tablename__ = "album_assets"

    album_id: Mapped[str] = mapped_column(ForeignKey("albums.id", ondelete="CASCADE"), primary_key=True)
    asset_id: Mapped[str] = mapped_column(String, primary_key=True, index=True)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[str] = mapped_column(String, unique=True)
    name: Mapped[str] = mapped_column(String)
    parent_id: Mapped[str | None] = mapped_column(String, index=True)
    color: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[str | None] = mapped_column(String)
    updated_at: Mapped[str | None] = mapped_column(String)
    raw: Mapped[str | None] = mapped_column(Text)


class AssetTag(Base):
    __tablename__ = "asset_tags"

    asset_id: Mapped[str] = mapped_column(String, primary_key=True)
    tag_id: Mapped[str] = mapped_column(
        ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Person(Base):
    """A person of ``GET /api/people?withHidden=true`` (sync/people.py)."""

    __tablename__ = "people"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String, index=True)
    is_hidden: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[str | None] = mapped_column(String)
    raw: Mapped[str | None] = mapped_column(Text)


class AssetPerson(Base):
    """A person recognised in an asset (any number of faces of them: one row)."""

    __tablename__ = "asset_people"

    asset_id: Mapped[str] = mapped_column(String, primary_key=True)
    person_id: Mapped[str] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class SyncState(Base):
    __tablename__ = "sync_state"

    key: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[str | None] = mapped_column(String)


class SyncRun(Base):
    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[str] = mapped_column(String)
    finished_at: Mapped[str | None] = mapped_column(String)
    mode: Mapped[str] = mapped_column(String)  # incremental | full
    status: Mapped[str] = mapped_column(String)  # running | ok | failed | interrupted (Ctrl-C)
    error: Mapped[str | None] = mapped_column(Text)
    server_version: Mapped[str | None] = mapped_column(String)
    assets_added: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    assets_changed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    assets_removed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    albums_added: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    albums_changed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    albums_removed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    album_links_added: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    album_links_removed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    tags_added: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    tags_changed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    tags_removed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    tag_links_added: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    tag_links_removed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    requests: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    bytes: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class Run(Base):
    """One autotag command that plans or applies changes (classify, push, run, undo)."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    command: Mapped[str] = mapped_column(String)
    started_at: Mapped[str] = mapped_column(String)
    finished_at: Mapped[str | None] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)  # running | ok | failed | interrupted
    summary: Mapped[str | None] = mapped_column(Text)  # JSON: counts, rounds, writes lost/re-applied
    undo_of: Mapped[int | None] = mapped_column(Integer)


class Outbox(Base):
    """One mutation per row: a tag, album or date change for one asset (or one tag/album to create).

    ``idem_key`` names the effect (``tag_add:<value>:<asset>``); the partial unique index lets only one
    live (pending/failed) row exist per effect, so enqueueing the same plan twice adds nothing.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), index=True)
    # tag_add, tag_remove, album_add, album_remove, set_date, album_delete, tag_delete
    kind: Mapped[str] = mapped_column(String)
    target: Mapped[str] = mapped_column(String)  # tag value / album id or name / asset field
    asset_id: Mapped[str | None] = mapped_column(String)
    payload: Mapped[str | None] = mapped_column(Text)  # JSON: what to send
    before: Mapped[str | None] = mapped_column(Text)  # JSON: the value before, for undo
    reason: Mapped[str | None] = mapped_column(Text)
    idem_key: Mapped[str] = mapped_column(String)
    state: Mapped[str] = mapped_column(String, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String)
    updated_at: Mapped[str] = mapped_column(String)
    sent_at: Mapped[str | None] = mapped_column(String)

    __table_args__ = (
        Index(
            "uq_outbox_live_idem_key",
            "idem_key",
            unique=True,
            sqlite_where=text("state IN ('pending', 'failed')"),
        ),
        Index("ix_outbox_state_kind", "state", "kind"),
    )


class Change(Base):
    """Every change the tool applied on the server, with the value before: the log, reports and undo."""

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), index=True)
    outbox_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[str] = mapped_column(String)
    asset_id: Mapped[str | None] = mapped_column(String, index=True)
    kind: Mapped[str] = mapped_column(String)
    target: Mapped[str] = mapped_column(String)
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)  # e.g. "re-applied after a lost write"


class ScopeExclude(Base):
    """Assets no rule may touch, resolved from the user's ``exclude:`` links before each classify."""

    __tablename__ = "scope_exclude"

    asset_id: Mapped[str] = mapped_column(String, primary_key=True)
    source: Mapped[str | None] = mapped_column(Text)  # the link or id it came from


class ScopeExcludeAlbum(Base):
    """Albums the user excluded (an album link, a bare album id, an album's share link): besides their
    assets, no change may target them (no addition, no removal)."""

    __tablename__ = "scope_exclude_albums"

    album_id: Mapped[str] = mapped_column(String, primary_key=True)
    source: Mapped[str | None] = mapped_column(Text)


class ScopeExcludeTag(Base):
    """Tags the user excluded (``/tags?path=``), by value: besides their assets, no change may add or
    remove that tag or a tag below it."""

    __tablename__ = "scope_exclude_tags"

    tag_value: Mapped[str] = mapped_column(String, primary_key=True)
    source: Mapped[str | None] = mapped_column(Text)


class ScopeOnly(Base):
    """When not empty, rules only touch these assets (the ``only:`` links)."""

    __tablename__ = "scope_only"

    asset_id: Mapped[str] = mapped_column(String, primary_key=True)
    source: Mapped[str | None] = mapped_column(Text)


class CreatedAlbum(Base):
    """An album the tool created (``album_add`` to ``name:<album name>``): the only albums undo deletes."""

    __tablename__ = "created_albums"

    album_id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    created_at: Mapped[str] = mapped_column(String)
    run_id: Mapped[int | None] = mapped_column(Integer)
    deleted_at: Mapped[str | None] = mapped_column(String)  # set when undo deleted it


class CreatedTag(Base):
    """A tag the tool created (a marker, a rule's tag, or a parent ``PUT /tags`` made for it): the only
    tags undo deletes."""

    __tablename__ = "created_tags"

    tag_id: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[str] = mapped_column(String)
    created_at: Mapped[str] = mapped_column(String)
    run_id: Mapped[int | None] = mapped_column(Integer)
    deleted_at: Mapped[str | None] = mapped_column(String)  # set when undo deleted it

class ReviewDecision(Base):
    """A person's decision on a planned change in ``autotag review``; a rejected one is held out of plans."""

    __tablename__ = "review_decisions"

    idem_key: Mapped[str] = mapped_column(String, primary_key=True)
    decision: Mapped[str] = mapped_column(String)  # 'rejected' (held back) or 'approved'
    kind: Mapped[str] = mapped_column(String)
    target: Mapped[str] = mapped_column(String)
    asset_id: Mapped[str | None] = mapped_column(String)
    label: Mapped[str | None] = mapped_column(Text)  # the change as the page showed it (names, not ids)
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[str] = mapped_column(String)

# Views of the mirror that are not rules (those live in autotag): recreated on every open.
MIRROR_VIEWS: dict[str, str] = {
    "duplicate_groups": """
        SELECT duplicate_id,
               COUNT(*) AS member_count,
               group_concat(id, ',') AS members
        FROM assets
        WHERE duplicate_id IS NOT NULL AND is_trashed = 0
        GROUP BY duplicate_id
    """,
}
