"""Settings read from the environment: LAB_GUEST_APPEND (kernel arguments for every guest)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.settings import Settings, parse_guest_append, parse_share_limit

PROJECT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("value", "args"),
    [("", ()), ("   ", ()), ("rdinit=/nonexistent", ("rdinit=/nonexistent",)),
     ("console=ttyS0  rdinit=/nonexistent", ("console=ttyS0", "rdinit=/nonexistent")),
     ("'a b=c d'", ("a b=c d",))],
)
def test_guest_append_is_split_as_a_shell_would(value: str, args: tuple[str, ...]) -> None:
    assert parse_guest_append(value) == args


def test_unbalanced_quotes_in_guest_append_name_the_variable() -> None:
    with pytest.raises(LabError, match="LAB_GUEST_APPEND='\"oops': No closing quotation"):
        parse_guest_append('"oops')


def test_settings_carry_the_guest_append_and_default_to_none() -> None:
    environ = {"LAB_PROJECT_DIR": str(PROJECT), "LAB_CACHE_DIR": "/nonexistent-cache"}

    assert Settings.from_env(environ).guest_append == ()
    environ["LAB_GUEST_APPEND"] = "rdinit=/nonexistent"
    assert Settings.from_env(environ).guest_append == ("rdinit=/nonexistent",)


@pytest.mark.parametrize(("value", "limit"), [
    ("1G", 1 << 30), ("512M", 512 << 20), ("512MiB", 512 << 20), ("65536K", 64 << 20),
    (str(32 << 20), 32 << 20), ("0", 0), (" 2g ", 2 << 30)])
def test_the_share_limit_is_a_size(value: str, limit: int) -> None:
    assert parse_share_limit(value) == limit


@pytest.mark.parametrize(("value", "why"), [
    ("lots", "say a size such as 1G"), ("-1G", "say a size"), ("1.5G", "say a size"),
    ("1", "under 16M a tutorial's logs and build do not fit")])
def test_a_bad_share_limit_names_the_variable(value: str, why: str) -> None:
    with pytest.raises(LabError, match=f"LAB_SHARE_LIMIT={value!r}.*{why}"):
        parse_share_limit(value)


def test_settings_bound_the_share_at_1_gib_by_default() -> None:
    environ = {"LAB_PROJECT_DIR": str(PROJECT), "LAB_CACHE_DIR": "/nonexistent-cache"}
    assert Settings.from_env(environ).share_limit == 1 << 30
    assert Settings.from_env({**environ, "LAB_SHARE_LIMIT": "256M"}).share_limit == 256 << 20


# --- the directories the lab writes and deletes in ------------------------------

def test_relative_output_and_cache_are_made_absolute_where_they_were_given(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    environ = {"LAB_PROJECT_DIR": str(PROJECT), "LAB_OUTPUT_DIR": "out",
               "LAB_CACHE_DIR": "../cache"}

    settings = Settings.from_env(environ)

    assert settings.output == tmp_path / "out"
    assert settings.cache == tmp_path.parent / "cache"


@pytest.mark.parametrize("variable", ["LAB_OUTPUT_DIR", "LAB_CACHE_DIR"])
@pytest.mark.parametrize("value", ["/", "//", "/tmp/../", "{file}"])
def test_the_root_or_a_file_is_not_a_directory_for_the_lab(
        tmp_path: Path, variable: str, value: str) -> None:
    (tmp_path / "a-file").write_text("")
    value = value.format(file=tmp_path / "a-file")
    environ = {"LAB_PROJECT_DIR": str(PROJECT), variable: value}

    with pytest.raises(LabError, match=f"^{variable}={re.escape(repr(value))}: "):
        Settings.from_env(environ)


def test_a_relative_xdg_cache_home_is_ignored_as_the_spec_says(tmp_path: Path) -> None:
    environ = {"LAB_PROJECT_DIR": str(PROJECT), "XDG_CACHE_HOME": "relative/cache",
               "HOME": str(tmp_path)}
    assert Settings.from_env(environ).cache == tmp_path / ".cache" / "ebpf-lab"
    environ["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    assert Settings.from_env(environ).cache == tmp_path / "xdg" / "ebpf-lab"


def test_the_vcpus_are_the_labs_choice_unless_told() -> None:
    settings = Settings.from_env({"LAB_PROJECT_DIR": str(Path(__file__).parents[2])})
    assert (settings.guest_cpus, settings.run_cpus) == (None, None)
    told = Settings.from_env({"LAB_PROJECT_DIR": str(Path(__file__).parents[2]),
                              "LAB_GUEST_CPUS": "4", "LAB_RUN_CPUS": "0"})
    assert (told.guest_cpus, told.run_cpus) == (4, 0)


@pytest.mark.parametrize(("name", "value"), [("LAB_GUEST_CPUS", "0"), ("LAB_GUEST_CPUS", "two"),
                                             ("LAB_RUN_CPUS", "-1"), ("LAB_GUEST_CPUS", "65")])
def test_a_bad_vcpu_count_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(LabError, match=f"{name}='{re.escape(value)}': say a number of vCPUs"):
        Settings.from_env({"LAB_PROJECT_DIR": str(Path(__file__).parents[2]), name: value})
