"""Usage mistakes get click's usage message and exit 2, with its "did you mean"; never the bug line."""

from __future__ import annotations

from pathlib import Path

import pytest

from autotag.cli import main

# `isolated` (tests/autotag/conftest.py): no environment of the developer leaks in.
pytestmark = pytest.mark.usefixtures("isolated")


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["classfy"], "Error: No such command 'classfy'. Did you mean 'classify'?"),
        (["classify", "--dry-rn"], "Error: No such option: --dry-rn (Possible options: --dry-run)"),
        (["sql"], "Error: Missing argument 'query'."),
        (["watch", "--interval", "0"], "Error: Invalid value for '--interval'"),
        (["undo", "--run", "abc"], "Error: Invalid value for '--run'"),
        (["classify", "--limit", "-1"], "Error: Invalid value for '--limit'"),
        (["--db"], "Error: Option '--db' requires an argument."),
    ],
)
def test_a_usage_mistake_gets_the_usage_message_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], error: str
) -> None:
    code = main(argv)
    _out, err = capsys.readouterr()
    assert code == 2, err
    assert error in " ".join(err.split()), err
    assert "a bug" not in err and "Traceback" not in err
    if argv != ["--db"]:  # click names no command when the global option itself is cut short
        assert err.startswith("Usage: autotag"), err


def test_classify_on_a_never_synced_mirror_says_to_sync(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--db", str(isolated / "m.db"), "classify", "--dry-run"])
    out, err = capsys.readouterr()
    assert code == 0 and out == ""
    assert err.strip() == "the mirror is empty (never synced): run `autotag sync` first, or `autotag run --dry-run`"


def test_run_dry_run_syncs_then_shows_the_plan_and_changes_nothing(
    isolated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from immich_mirror.fake.library import FakeLibrary
    from tests.helpers import serving

    lib = FakeLibrary(seed=2)
    for i in range(6):
        lib.add_asset(f"IMG_2019041{i}_120000.jpg")
    before = lib.snapshot()
    db = str(isolated / "m.db")
    with serving(lib, monkeypatch):
        code = main(["--db", db, "run", "--dry-run"])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert "assets +6" in err and "unclassified 6" in out
        assert "plan:   6 change(s) (tag_add 6); creates 1 tag(s)" in out
        assert lib.snapshot() == before
        assert main(["--db", db, "sql", "SELECT COUNT(*) AS n FROM outbox", "--csv"]) == 0
        assert capsys.readouterr().out.splitlines() == ["n", "0"]


def test_help_shows_no_type_after_a_flag(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["sync", "--help"], ["classify", "--help"], ["undo", "--help"]):
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert "<bool>" not in out and "--help" in out, argv


def test_docs_give_the_real_default_mirror_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from immich_mirror.config import default_db_path

    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", "/home/me")
    watch_doc = (Path(__file__).resolve().parents[2] / "docs" / "watch.md").read_text(encoding="utf-8")
    assert f"watching {default_db_path()} every" in watch_doc


def test_make_install_hides_the_editable_install_banner() -> None:
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text(encoding="utf-8")
    install = next(line for line in makefile.splitlines() if "pip install -q -c constraints.txt -e" in line)
    assert "PYTHONWARNINGS='ignore:Editable installation'" in install
