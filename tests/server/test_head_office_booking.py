"""The branch config's booking parts for the head office: where it stands, its public address."""

from __future__ import annotations

from pathlib import Path

import pytest

from queue_server.config import ConfigError, load_head_office

TOKEN = "bq1.sh-east." + "s" * 43


def _config(tmp_path: Path, branch: str, head_office: str) -> Path:
    (tmp_path / "t.token").write_text(TOKEN, encoding="utf-8")
    path = tmp_path / "branch.toml"
    path.write_text(
        f'[branch]\nid = "sh-east"\n{branch}\n[head_office]\nurl = "https://hq:8800"\n'
        f'token_file = "t.token"\n{head_office}\n',
        encoding="utf-8",
    )
    return path


def test_location_and_public_url_are_read_for_the_hello(tmp_path: Path) -> None:
    path = _config(
        tmp_path, "location = {lat = 31.23, lon = 121.53}", 'public_url = "https://b.example"'
    )
    office = load_head_office(path)
    assert office is not None
    assert (office.location, office.public_url) == ((31.23, 121.53), "https://b.example")
    bare = load_head_office(_config(tmp_path, "", ""))
    assert bare is not None and (bare.location, bare.public_url) == (None, None)


@pytest.mark.parametrize(
    ("branch", "head_office", "says"),
    [
        ("location = {lat = 91, lon = 0}", "", "not on the globe"),
        ("location = {lat = 31}", "", "{lat = …, lon = …}"),
        ('location = {lat = "x", lon = 1}', "", "could not convert"),
        ("", 'public_url = "http://b.example"', "must be https"),
    ],
)
def test_a_bad_location_or_address_is_refused(
    tmp_path: Path, branch: str, head_office: str, says: str
) -> None:
    with pytest.raises(ConfigError, match="bad branch config") as refused:
        load_head_office(_config(tmp_path, branch, head_office))
    assert says in str(refused.value)
