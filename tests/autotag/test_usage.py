"""Usage mistakes get click's usage message and exit 2, with its "did you mean"; never the bug line."""

from __future__ import annotations

from pathlib import Path

import pytest

from autotag.cli import main


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("IMMICH_URL", "IMMICH_INSTANCE_URL", "IMMICH_API_KEY", "AUTOTAG_CONFIG", "AUTOTAG_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    return tmp_path


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
    out, err = capsys.readouterr()
    assert code == 2, err
    assert error in " ".join(err.split()), err
    assert "a bug" not in err and "Traceback" not in err
    if argv != ["--db"]:  # click names no command when the global option itself is cut short
        assert err.startswith("Usage: autotag"), err
