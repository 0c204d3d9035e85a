"""Tests for finding the Debian mirror from apt's configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.cache.apt_sources import debian_mirror
from lab.errors import LabError

SECURITY_STANZA = """\
Types: deb
URIs: http://mirror.test/debian-security/
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""

THIRD_PARTY_STANZA = """\
Types: deb
URIs: https://vendor.test/node_20.x
Suites: nodistro
Components: main
Signed-By: /usr/share/keyrings/nodesource.gpg
"""

DEBIAN_STANZA = """\
Types: deb-src deb
# http://snapshot.test/archive/debian/20250520T000000Z
URIs: http://mirror.test/debian/ http://other.test/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def make_apt_dir(
    tmp_path: Path, sources_list: str = "", parts: dict[str, str] | None = None
) -> Path:
    """Build a fake /etc/apt with the given files."""
    apt = tmp_path / "apt"
    (apt / "sources.list.d").mkdir(parents=True)
    (apt / "sources.list").write_text(sources_list)
    for name, text in (parts or {}).items():
        (apt / "sources.list.d" / name).write_text(text)
    return apt


def test_deb822_skips_security_and_third_party(tmp_path: Path) -> None:
    text = f"{SECURITY_STANZA}\n{THIRD_PARTY_STANZA}\n{DEBIAN_STANZA}"
    apt = make_apt_dir(tmp_path, parts={"debian.sources": text})
    assert debian_mirror({}, apt) == "http://mirror.test/debian"


def test_deb822_ignores_disabled_and_commented_stanzas(tmp_path: Path) -> None:
    disabled = DEBIAN_STANZA.replace("mirror.test", "disabled.test") + "Enabled: no\n"
    commented = "".join(
        f"# {line}\n"
        for line in DEBIAN_STANZA.replace("mirror.test", "commented.test").splitlines()
    )
    text = f"{commented}\n{disabled}\n{DEBIAN_STANZA}"
    apt = make_apt_dir(tmp_path, parts={"a.sources": text})
    assert debian_mirror({}, apt) == "http://mirror.test/debian"


def test_deb822_deb_src_only_is_ignored(tmp_path: Path) -> None:
    src_only = DEBIAN_STANZA.replace("Types: deb-src deb", "Types: deb-src").replace(
        "mirror.test", "src.test"
    )
    apt = make_apt_dir(tmp_path, parts={"a.sources": src_only + "\n" + DEBIAN_STANZA})
    assert debian_mirror({}, apt) == "http://mirror.test/debian"


def test_security_uri_path_is_ignored_even_with_plain_suite(tmp_path: Path) -> None:
    odd = DEBIAN_STANZA.replace(
        "http://mirror.test/debian/ http://other.test/debian", "http://mirror.test/debian-security"
    )
    apt = make_apt_dir(tmp_path, parts={"a.sources": odd + "\n" + DEBIAN_STANZA})
    assert debian_mirror({}, apt) == "http://mirror.test/debian"


def test_one_line_format(tmp_path: Path) -> None:
    sources_list = """\
# deb http://commented.test/debian bookworm main
deb-src http://src.test/debian bookworm main
deb http://security.test/debian-security bookworm-security main
deb https://vendor.test/apt cloud-sdk-bookworm main
deb [ arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg ] \
http://one.test/debian/ trixie main  # trailing
"""
    apt = make_apt_dir(tmp_path, sources_list)
    assert debian_mirror({}, apt) == "http://one.test/debian"


def test_list_files_in_sources_list_d(tmp_path: Path) -> None:
    apt = make_apt_dir(tmp_path, parts={"zz.list": "deb http://list.test/debian sid main\n"})
    assert debian_mirror({}, apt) == "http://list.test/debian"


def test_sources_list_read_before_sources_list_d(tmp_path: Path) -> None:
    apt = make_apt_dir(
        tmp_path, "deb http://first.test/debian bookworm main\n", {"debian.sources": DEBIAN_STANZA}
    )
    assert debian_mirror({}, apt) == "http://first.test/debian"


def test_backports_only_entry_is_debian(tmp_path: Path) -> None:
    apt = make_apt_dir(tmp_path, "deb http://bp.test/debian bookworm-backports main\n")
    assert debian_mirror({}, apt) == "http://bp.test/debian"


def test_env_override_wins(tmp_path: Path) -> None:
    apt = make_apt_dir(tmp_path, parts={"debian.sources": DEBIAN_STANZA})
    env = {"LAB_DEBIAN_MIRROR": "http://override.test/debian/"}
    assert debian_mirror(env, apt) == "http://override.test/debian"


def test_none_found_names_env_var(tmp_path: Path) -> None:
    apt = make_apt_dir(tmp_path, parts={"x.sources": SECURITY_STANZA + "\n" + THIRD_PARTY_STANZA})
    with pytest.raises(LabError, match="LAB_DEBIAN_MIRROR"):
        debian_mirror({}, apt)


def test_missing_apt_dir_raises(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="LAB_DEBIAN_MIRROR"):
        debian_mirror({}, tmp_path / "nowhere")
