"""Tags: per-user paths, their asset links, and the sidecar jobs that follow every tag write.

A tag write queues, per asset, a sidecar write and a metadata re-extraction that reads the tags
back from the sidecar; on the real server a second write landing in between is lost (API-NOTES 0b).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import partial

from immich_mirror.fake.state import FakeTag, new_id
from immich_mirror.fake.store import LibraryState


class TagStore(LibraryState):
    def tag_by_value(self, value: str, user_id: str | None = None) -> FakeTag | None:
        user_id = user_id or self.owner_id
        for tag in self.tags.values():
            if tag.value == value and tag.user_id == user_id:
                return tag
        return None

    def create_tag(self, value: str, *, owner_id: str | None = None, color: str | None = None,
                   id: str | None = None) -> FakeTag:
        """Create the tag at path `value` and any missing parents; an existing tag is returned."""
        with self.lock:
            user_id = owner_id or self.owner_id
            parent: FakeTag | None = None
            parts = [p for p in value.split("/") if p]
            for depth in range(1, len(parts) + 1):
                path = "/".join(parts[:depth])
                tag = self.tag_by_value(path, user_id)
                if tag is None:
                    now = self.clock.tick()
                    leaf = depth == len(parts)
                    tag = FakeTag(
                        id=(id if leaf and id else new_id(self.rng)), user_id=user_id, value=path,
                        parent_id=parent.id if parent else None, created_at=now, updated_at=now,
                        color=color if leaf else None,
                    )
                    self.tags[tag.id] = tag
                    self.tag_members[tag.id] = set()
                parent = tag
            self._changed()
            assert parent is not None, "empty tag value"
            return parent

    def descendants(self, tag_id: str) -> set[str]:
        """The tag and every tag below it (Immich's tag_closure)."""
        children: dict[str, list[str]] = {}
        for tag in self.tags.values():
            if tag.parent_id:
                children.setdefault(tag.parent_id, []).append(tag.id)
        found, stack = set(), [tag_id]
        while stack:
            tid = stack.pop()
            if tid in found:
                continue
            found.add(tid)
            stack.extend(children.get(tid, ()))
        return found

    def delete_tag(self, tag_id: str) -> None:
        """Delete a tag and its descendants. The assets' sidecars keep it (API-NOTES 0b)."""
        with self.lock:
            for tid in self.descendants(tag_id):
                self.tags.pop(tid, None)
                for aid in self.tag_members.pop(tid, set()):
                    self.asset_tags.get(aid, set()).discard(tid)
            self._changed()

    def reparent_tag(self, tag_id: str, parent_id: str | None) -> FakeTag:
        """Move a tag (and its subtree) under another parent, rewriting the values."""
        with self.lock:
            tag = self.tags[tag_id]
            old_prefix = tag.value
            new_prefix = (self.tags[parent_id].value + "/" if parent_id else "") + tag.name
            now = self.clock.tick()
            for tid in self.descendants(tag_id):
                sub = self.tags[tid]
                sub.value = new_prefix + sub.value[len(old_prefix):]
                sub.updated_at = now
            tag.parent_id = parent_id
            self._changed()
            return tag

    def update_tag(self, tag_id: str, *, color: str | None = None) -> FakeTag:
        with self.lock:
            tag = self.tags[tag_id]
            tag.color = color
            tag.updated_at = self.clock.tick()
            self._changed()
            return tag

    def tag_assets(self, tag_ids: Iterable[str], asset_ids: Iterable[str]) -> int:
        """Link every tag to every asset; returns the number of new links (as `PUT /tags/assets`)."""
        with self.lock:
            tag_ids = [t for t in tag_ids if t in self.tags]
            added: dict[str, set[str]] = {}
            for aid in asset_ids:
                if aid not in self.assets:
                    continue
                for tid in tag_ids:
                    if aid not in self.tag_members[tid]:
                        self.tag_members[tid].add(aid)
                        self.asset_tags.setdefault(aid, set()).add(tid)
                        added.setdefault(aid, set()).add(tid)
            now = self.clock.tick() if added else None
            for tid in {t for ts in added.values() for t in ts}:
                assert now is not None
                self.tags[tid].updated_at = now
            for aid, tids in added.items():
                self._tag_write(aid, added=tids, removed=set())
            self._changed()
            return sum(len(t) for t in added.values())

    def untag_assets(self, tag_ids: Iterable[str], asset_ids: Iterable[str]) -> int:
        """Remove links; returns how many existed."""
        with self.lock:
            tag_ids = [t for t in tag_ids if t in self.tags]
            removed: dict[str, set[str]] = {}
            for aid in asset_ids:
                for tid in tag_ids:
                    if aid in self.tag_members[tid]:
                        self.tag_members[tid].discard(aid)
                        self.asset_tags.get(aid, set()).discard(tid)
                        removed.setdefault(aid, set()).add(tid)
            for aid, tids in removed.items():
                self._tag_write(aid, added=set(), removed=tids)
            self._changed()
            return sum(len(t) for t in removed.values())

    def _tag_write(self, asset_id: str, *, added: set[str], removed: set[str]) -> None:
        """Queue the sidecar write + re-extraction that follow a tag write, maybe losing it.

        A write that lands within the window after a previous one to the same asset, while that
        one's jobs are still pending, is overwritten by the re-extraction with the given
        probability (API-NOTES 0b: ~10% of quick successive writes on both versions).
        """
        now = self.clock.peek()
        last = self._last_tag_write.get(asset_id)
        pending = self.jobs_mode == "immediate" or any(j.asset_id == asset_id for j in self._jobs)
        racing = (
            last is not None and pending
            and (now - last).total_seconds() * 1000 < self.lost_writes_window_ms
        )
        lost = racing and self.lost_writes_rate > 0 and self.rng.random() < self.lost_writes_rate
        self._last_tag_write[asset_id] = now
        undo_add, undo_remove = (set(added), set(removed)) if lost else (set(), set())
        self._queue(asset_id, "sidecar", lambda: self._sidecar_job(asset_id, undo_add, undo_remove))

    def _sidecar_job(self, asset_id: str, undo_add: set[str], undo_remove: set[str]) -> None:
        asset = self.assets.get(asset_id)
        if asset is None:
            return
        if undo_add or undo_remove:
            self.lost_writes += 1
        for tid in undo_add:
            if tid in self.tags:
                self.tag_members[tid].discard(asset_id)
                self.asset_tags.get(asset_id, set()).discard(tid)
        for tid in undo_remove:
            if tid in self.tags:
                self.tag_members[tid].add(asset_id)
                self.asset_tags.setdefault(asset_id, set()).add(tid)
        asset.sidecar_tags = {self.tags[t].value for t in self.asset_tags.get(asset_id, set())}
        now = self.clock.tick()
        self._reupsert(self.asset_tags.get(asset_id, set()), now)
        asset.updated_at = now

    def _reupsert(self, tag_ids: Iterable[str], now: datetime) -> None:
        """The metadata re-extraction that follows a sidecar write upserts every tag the sidecar holds,
        path part by path part (server ``metadata.service.ts`` applyTagList -> ``upsertTags`` ->
        ``upsertValue``, an INSERT ... ON CONFLICT DO UPDATE): the tag and each of its ancestors get a
        new ``updatedAt``, whoever wrote the tag (a re-upsert moves it: recording ``tags_upsert``)."""
        for tid in set(tag_ids):
            while tid and tid in self.tags:
                tag = self.tags[tid]
                tag.updated_at = now
                tid = tag.parent_id or ""

    def refresh_metadata(self, asset_ids: Iterable[str]) -> None:
        """Queue metadata re-extraction: tags come back from the sidecar (new ids if deleted)."""
        with self.lock:
            for aid in asset_ids:
                if aid in self.assets:
                    self._queue(aid, "metadata", partial(self._extract_job, aid))
            self._changed()

    def _extract_job(self, asset_id: str) -> None:
        asset = self.assets.get(asset_id)
        if asset is None:
            return
        wanted = {self.create_tag(value, owner_id=asset.owner_id).id for value in asset.sidecar_tags}
        current = self.asset_tags.setdefault(asset_id, set())
        for tid in current - wanted:
            self.tag_members[tid].discard(asset_id)
        for tid in wanted - current:
            self.tag_members[tid].add(asset_id)
        self.asset_tags[asset_id] = wanted
        now = self.clock.tick()
        self._reupsert(wanted, now)
        asset.updated_at = now
