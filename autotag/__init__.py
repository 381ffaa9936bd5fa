"""autotag: classification rules, plans and the outbox over the immich_mirror database."""
