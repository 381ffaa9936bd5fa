"""A tiny helper to fill a temporary mirror with rows, straight in SQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from autotag import derived
from autotag.config import AutotagConfig, parse_config
from autotag.plan import PlanRow, install_rules, plan_rows
from immich_mirror.db.migrate import open_db

OWNER = "owner-1"


class Mirror:
    def __init__(self, path: Path, owner: str | None = OWNER) -> None:
        self.engine: Engine = open_db(path)
        self._tag_ids: dict[str, str] = {}
        if owner is not None:
            self.sql("INSERT INTO sync_state (key, value) VALUES ('owner_id', :v)", v=owner)

    def sql(self, statement: str, **params: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(statement), params)

    def rows(self, query: str, **params: object) -> list[tuple[object, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(query), params)]

    def asset(
        self,
        asset_id: str,
        *,
        owner: str = OWNER,
        visibility: str = "timeline",
        trashed: bool = False,
        path: str | None = None,
    ) -> str:
        self.sql(
            "INSERT INTO assets (id, owner_id, type, visibility, is_trashed, original_path) "
            "VALUES (:id, :owner, 'IMAGE', :vis, :trashed, :path)",
            id=asset_id,
            owner=owner,
            vis=visibility,
            trashed=int(trashed),
            path=path or f"/photos/{asset_id}.jpg",
        )
        return asset_id

    def album(self, album_id: str, name: str, *assets: str) -> str:
        self.sql("INSERT INTO albums (id, name) VALUES (:id, :name)", id=album_id, name=name)
        for asset_id in assets:
            self.sql("INSERT INTO album_assets (album_id, asset_id) VALUES (:a, :b)", a=album_id, b=asset_id)
        self.synced()
        return album_id

    def synced(self) -> None:
        """What the end of a sync does: the values the views need from Python follow the new rows."""
        with self.engine.begin() as conn:
            derived.refresh(conn)

    def tag_id(self, value: str) -> str:
        if value not in self._tag_ids:
            tag_id = f"t{len(self._tag_ids)}"
            self.sql(
                "INSERT INTO tags (id, value, name) VALUES (:id, :value, :name)",
                id=tag_id,
                value=value,
                name=value.rsplit("/", 1)[-1],
            )
            self._tag_ids[value] = tag_id
        return self._tag_ids[value]

    def tag(self, asset_id: str, *values: str) -> None:
        for value in values:
            self.sql(
                "INSERT INTO asset_tags (asset_id, tag_id) VALUES (:a, :t)", a=asset_id, t=self.tag_id(value)
            )

    def untag(self, asset_id: str, value: str) -> None:
        self.sql(
            "DELETE FROM asset_tags WHERE asset_id = :a AND tag_id = :t", a=asset_id, t=self.tag_id(value)
        )

    def exclude(self, asset_id: str) -> None:
        self.sql("INSERT INTO scope_exclude (asset_id) VALUES (:a)", a=asset_id)

    def only(self, asset_id: str) -> None:
        self.sql("INSERT INTO scope_only (asset_id) VALUES (:a)", a=asset_id)

    def install(self, config: dict[str, object] | AutotagConfig | None = None) -> AutotagConfig:
        cfg = config if isinstance(config, AutotagConfig) else parse_config(config or {})
        install_rules(self.engine, cfg)
        return cfg

    def status(self) -> dict[str, str]:
        return {str(a): str(s) for a, s in self.rows("SELECT asset_id, status FROM classification")}

    def plan(self) -> list[PlanRow]:
        with self.engine.connect() as conn:
            return list(plan_rows(conn))

    def plan_set(self) -> set[tuple[str, str, str | None]]:
        return {(r.kind, r.target, r.asset_id) for r in self.plan()}

    def apply(self) -> None:
        """What a perfect push would do: the mirror then holds the markers the plan asked for."""
        for row in self.plan():
            assert row.asset_id is not None
            if row.kind == "tag_add":
                self.tag(row.asset_id, row.target)
            elif row.kind == "tag_remove":
                self.untag(row.asset_id, row.target)
