"""immich_mirror: an incremental SQLite mirror of an Immich library."""
