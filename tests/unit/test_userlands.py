"""Guest userlands: vm/rootfs.toml (the default) and each vm/rootfs-<suite>.toml, each
with its lock; a scenario's `userland` names one of them, its guest_packages go into
that root only, and an unknown one is refused with the known ones listed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import lab.cache.rootfs
from lab.cache.catalog import load_catalog
from lab.cache.rootfs import (
    Recipe,
    digest,
    guest_recipe,
    load_recipe,
    package_sources,
    required_lock,
    rootfs_dir,
)
from lab.cache.userlands import Userlands, find_userlands
from lab.errors import LabError
from lab.scenario import Scenario, load_scenarios
from lab.scenario.reader import parse_scenario

pytest_plugins = ["pytester"]

PROJECT = Path(__file__).resolve().parents[2]
VM_DIR = PROJECT / "vm"
RECIPE = 'suite = "{suite}"\npackages = ["bash", "clang"]\n'


def scenario(name: str, *packages: str,
             userland: str | dict[str, str] | None = None) -> Scenario:
    data: dict[str, object] = {
        "summary": f"{name}, declaring {packages}",
        "build": {"commands": []},
        "load": {"command": "python3 x.py", "ready": "^ready$", "capture": "output"},
        "workload": [{"run": "true", "record": "runs"}],
        "expect": [{"summary": "a line", "for_each": "runs", "lines": ["pid ${pid}$"]}],
        "guest_packages": list(packages),
    }
    if userland is not None:
        data["userland"] = userland
    return parse_scenario(data, Path(f"/project/scenarios/{name}.toml"), TARGETS)


TARGETS = ("5.10", "6.1", "6.12", "7.2", "6.1-arm64", "7.2-arm64")


def vm_dir(tmp_path: Path, **recipes: str) -> Path:
    """A vm/ with rootfs.toml (bookworm) and the given rootfs-<name>.toml files."""
    vm = tmp_path / "vm"
    vm.mkdir()
    (vm / "rootfs.toml").write_text(RECIPE.format(suite="bookworm"))
    for name, suite in recipes.items():
        (vm / f"rootfs-{name}.toml").write_text(RECIPE.format(suite=suite))
    return vm


def test_the_default_recipe_and_each_named_one_are_the_known_userlands(tmp_path: Path) -> None:
    vm = vm_dir(tmp_path, trixie="trixie", forky="forky")
    userlands = find_userlands(vm / "rootfs.toml")
    assert userlands.default == "bookworm"
    assert userlands.recipes == {"bookworm": vm / "rootfs.toml", "forky": vm / "rootfs-forky.toml",
                                 "trixie": vm / "rootfs-trixie.toml"}
    trixie = userlands.recipe("trixie")
    assert (trixie.suite, trixie.default, trixie.lock_file) == (
        "trixie", False, vm / "rootfs-trixie.lock")
    assert userlands.recipe("bookworm").default


def test_a_recipe_whose_suite_is_not_its_name_is_refused(tmp_path: Path) -> None:
    vm = vm_dir(tmp_path, trixie="forky")
    with pytest.raises(LabError, match=r"rootfs-trixie.toml: its suite is 'forky'; the recipe "
                                       r"of the forky userland is named rootfs-forky.toml"):
        find_userlands(vm / "rootfs.toml")


def test_the_default_suite_named_again_is_refused(tmp_path: Path) -> None:
    vm = vm_dir(tmp_path, bookworm="bookworm")
    with pytest.raises(LabError, match=r"bookworm is already the userland of .*/rootfs.toml"):
        find_userlands(vm / "rootfs.toml")


def test_an_unknown_userland_is_refused_naming_each_scenario_and_the_known_ones(
        tmp_path: Path) -> None:
    userlands = find_userlands(vm_dir(tmp_path, trixie="trixie") / "rootfs.toml")
    userlands.check([scenario("a"), scenario("b", userland="trixie")])
    with pytest.raises(LabError) as info:
        userlands.check([scenario("a", userland="sid"), scenario("b"),
                         scenario("c", userland="buster")])
    message = str(info.value)
    assert message.startswith("/project/scenarios/a.toml: `userland` 'sid'; "
                              "/project/scenarios/c.toml: `userland` 'buster': not a guest "
                              "userland of this lab; the known ones are bookworm "
                              "(vm/rootfs.toml, the default), trixie (vm/rootfs-trixie.toml)")
    with pytest.raises(LabError, match=r"no guest userland 'sid': the known ones are bookworm"):
        userlands.recipe("sid")


def test_needed_userlands_in_order_of_first_use_and_the_default_for_none() -> None:
    userlands = Userlands("bookworm", {"bookworm": Path("a"), "trixie": Path("b")})
    used = [scenario("a", userland="trixie"), scenario("b"), scenario("c", userland="trixie")]
    assert userlands.needed(used) == ["trixie", "bookworm"]
    assert userlands.needed([scenario("a", userland="trixie")]) == ["trixie"]
    assert userlands.needed([]) == ["bookworm"]
    assert userlands.needed([scenario("a", userland="sid")]) == ["bookworm"], \
        "an unknown userland is its scenario's failure, not the line's"
    assert userlands.chosen([], [scenario("a", userland="trixie")]) == ["bookworm", "trixie"]
    assert userlands.chosen(["trixie"], []) == ["trixie"]
    with pytest.raises(LabError, match="no guest userland 'sid'"):
        userlands.chosen(["sid"], [])


def test_a_scenarios_packages_go_into_its_userlands_root_only() -> None:
    bookworm = Recipe("bookworm", "minbase", ("bash",))
    trixie = Recipe("trixie", "minbase", ("bash",), default=False)
    plain = scenario("plain", "strace")
    named_default = scenario("named", "iproute2", userland="bookworm")
    newer = scenario("newer", "dwarves", userland="trixie")
    assert package_sources(bookworm, [plain, named_default, newer]) == {
        "bash": ("recipe",), "iproute2": ("named",), "strace": ("plain",)}
    assert package_sources(trixie, [plain, named_default, newer]) == {
        "bash": ("recipe",), "dwarves": ("newer",)}
    assert digest(guest_recipe(bookworm, [newer]), []) == digest(bookworm, []), \
        "a trixie scenario's package does not change the bookworm root"


def test_each_userland_is_cached_apart(tmp_path: Path) -> None:
    bookworm = Recipe("bookworm", "minbase", ("bash",))
    trixie = Recipe("trixie", "minbase", ("bash",), default=False)
    assert rootfs_dir(tmp_path, bookworm, []).name.startswith("bookworm-")
    assert rootfs_dir(tmp_path, trixie, []).name.startswith("trixie-")
    assert rootfs_dir(tmp_path, bookworm, []) != rootfs_dir(tmp_path, trixie, [])


def test_an_unknown_package_of_another_userland_names_its_recipe(tmp_path: Path) -> None:
    vm = vm_dir(tmp_path, trixie="trixie")
    recipe = find_userlands(vm / "rootfs.toml").recipe("trixie")

    class NoClang:
        suite, component, arch, mirror = "trixie", "main", "amd64", "http://mirror"

        def find(self, name: str, version: str | None = None) -> object:
            if name == "clang":
                raise lab.cache.rootfs.PackageNotFound(name)
            return object()

    with pytest.raises(LabError, match=r"^the recipe \(.*/vm/rootfs-trixie.toml\): `packages` "
                                       r"names 'clang'.*not a package of trixie"):
        lab.cache.rootfs.check_packages(NoClang(), recipe, [])  # type: ignore[arg-type]


def shipped() -> tuple[Userlands, list[Scenario]]:
    userlands = find_userlands(VM_DIR / "rootfs.toml")
    scenarios = load_scenarios(PROJECT / "scenarios", load_catalog(VM_DIR / "kernels.toml").keys())
    return userlands, scenarios


def test_the_shipped_userlands_are_bookworm_and_trixie_and_every_scenario_names_one() -> None:
    userlands, scenarios = shipped()
    assert userlands.default == "bookworm"
    assert set(userlands.recipes) >= {"bookworm", "trixie"}
    userlands.check(scenarios)


def test_the_shipped_trixie_recipe_asks_for_what_the_default_one_does() -> None:
    """A tutorial moved to trixie finds the tools it had on bookworm."""
    default = load_recipe(VM_DIR / "rootfs.toml")
    trixie = load_recipe(VM_DIR / "rootfs-trixie.toml", default=False)
    assert trixie.suite == "trixie" and trixie.variant == default.variant
    assert set(trixie.packages) == set(default.packages)


@pytest.mark.parametrize("userland", sorted(set(find_userlands(VM_DIR / "rootfs.toml").recipes)
                                            - {find_userlands(VM_DIR / "rootfs.toml").default}))
def test_each_other_shipped_lock_pins_its_recipe_and_its_scenarios_packages(
        userland: str) -> None:
    """vm/rootfs-<suite>.lock is committed like vm/rootfs.lock (whose own test is in
    test_rootfs): a fresh checkout builds the root without `lab rootfs lock`."""
    userlands, scenarios = shipped()
    recipe = userlands.recipe(userland)
    lock = required_lock(guest_recipe(recipe, scenarios))
    assert lock.suite == userland
    assert all(len(p.sha256) == 64 for p in lock.packages)


def test_lab_rootfs_build_list_shows_each_userland_with_its_own_scenarios_packages(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from lab import cli

    vm = vm_dir(tmp_path, trixie="trixie")
    for name in ("kernels.toml", "kernels.lock"):
        (vm / name).write_text((VM_DIR / name).read_text())
    (tmp_path / "scenarios").mkdir()
    for name, body in {"plain": 'guest_packages = ["strace"]\n',
                       "newer": 'userland = "trixie"\nguest_packages = ["dwarves"]\n'}.items():
        (tmp_path / "scenarios" / f"{name}.toml").write_text(body + SCENARIO_FILE)
    monkeypatch.setenv("LAB_PROJECT_DIR", str(tmp_path))
    monkeypatch.setenv("LAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(lab.cache.rootfs, "_build", lambda *args: pytest.fail("--list built"))

    assert cli.main(["rootfs", "build", "--list"]) == 0
    out = capsys.readouterr().out
    bookworm, trixie = out.split(f"{tmp_path}/cache/rootfs/")[1:]
    assert bookworm.startswith("bookworm-") and "strace  scenario plain" in bookworm
    assert "dwarves" not in bookworm
    assert trixie.startswith("trixie-") and "dwarves  scenario newer" in trixie
    assert "strace" not in trixie

    assert cli.main(["rootfs", "build", "--list", "trixie"]) == 0
    assert capsys.readouterr().out.count("/cache/rootfs/") == 1
    assert cli.main(["rootfs", "lock", "sid"]) == 1
    assert "no guest userland 'sid': the known ones are bookworm" in capsys.readouterr().err


SCENARIO_FILE = """summary = "a scenario"
program = "bpf/x"
[build]
commands = []
[load]
command = "python3 x.py"
ready = "^ready$"
capture = "output"
[[workload]]
run = "true"
record = "runs"
[[expect]]
summary = "a line"
for_each = "runs"
lines = ['pid ${pid}$']
"""


def test_a_recipe_loaded_as_the_default_serves_scenarios_naming_none() -> None:
    recipe = dataclasses.replace(Recipe("trixie", "minbase", ()), default=True)
    assert recipe.serves(scenario("plain")) and recipe.serves(scenario("t", userland="trixie"))
    assert not recipe.serves(scenario("b", userland="bookworm"))


def test_pytest_refuses_an_unknown_userland_before_anything_boots(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    vm = vm_dir(project, trixie="trixie")
    for name in ("kernels.toml", "kernels.lock"):
        (vm / name).write_text((VM_DIR / name).read_text())
    (project / "scenarios").mkdir()
    (project / "scenarios" / "odd.toml").write_text('userland = "sid"\n' + SCENARIO_FILE)
    monkeypatch.setenv("LAB_PROJECT_DIR", str(project))
    monkeypatch.setenv("LAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LAB_OUTPUT_DIR", str(tmp_path / "out"))
    pytester.makepyfile(test_x="def test_x(lab_kernel, lab_scenario):\n    raise AssertionError\n")

    result = pytester.runpytest_subprocess("--rootdir", str(pytester.path), "-p",
                                           "no:cacheprovider", "--kernel", "6.1", "--collect-only",
                                           "-q")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (f"{project}/scenarios/odd.toml: `userland` 'sid': not a guest userland of this "
            "lab; the known ones are bookworm (vm/rootfs.toml, the default), trixie "
            "(vm/rootfs-trixie.toml)") in result.stderr.str()
    assert not (tmp_path / "cache").exists() and not (tmp_path / "out" / "runs").exists()


def test_a_userland_per_line_names_the_root_of_each_target_and_the_default_elsewhere() -> None:
    userlands = Userlands("bookworm", {"bookworm": Path("a"), "trixie": Path("b"),
                                       "forky": Path("c")})
    module = scenario("module", userland={"default": "trixie", "6.1": "bookworm",
                                          "7.2": "forky", "7.2-arm64": "trixie"})
    assert [userlands.of(module, target) for target in
            ("5.10", "6.1", "6.1-arm64", "6.12", "7.2", "7.2-arm64")] == \
        ["trixie", "bookworm", "bookworm", "trixie", "forky", "trixie"], \
        "a line's key covers its every architecture; a target's own key wins"
    plain = scenario("plain", userland={"7.2": "forky"})
    assert (userlands.of(plain, "6.12"), userlands.of(plain, "7.2")) == ("bookworm", "forky")
    assert module.userlands == ("trixie", "bookworm", "forky")
    assert userlands.needed([plain, module], "7.2") == ["forky"]
    assert userlands.needed([plain, module], "6.1") == ["bookworm"]
    assert userlands.needed([plain, module]) == ["bookworm", "forky", "trixie"], \
        "on any line: every root either runs on"
    assert userlands.chosen([], [plain]) == ["bookworm", "forky"]
    assert module.flavor_on("7.2") != module.flavor_on("6.12"), "another root, another guest"


def test_a_userland_table_is_checked_before_boot() -> None:
    userlands = Userlands("bookworm", {"bookworm": Path("a"), "trixie": Path("b")})
    with pytest.raises(LabError, match=r"`userland` 'forky': not a guest userland"):
        userlands.check([scenario("a", userland={"7.2": "forky"})])
    with pytest.raises(LabError, match=r"\[userland\] `7.3` is neither `default` nor a kernel "
                                       r"line of the catalog \(known: 5.10, 6.1"):
        scenario("a", userland={"7.3": "forky"})
    with pytest.raises(LabError, match=r"\[userland\] `7.2` must be a Debian suite's name"):
        scenario("a", userland={"7.2": "Forky Fox"})
    with pytest.raises(LabError, match=r"\[userland\] names no line"):
        scenario("a", userland={})


def test_a_scenarios_packages_go_into_every_root_it_runs_on() -> None:
    bookworm = Recipe("bookworm", "minbase", ("bash",))
    trixie = Recipe("trixie", "minbase", ("bash",), default=False)
    forky = Recipe("forky", "minbase", ("bash",), default=False)
    split = scenario("split", "kmod", userland={"default": "trixie", "7.2": "forky"})
    assert "kmod" in package_sources(trixie, [split])
    assert "kmod" in package_sources(forky, [split])
    assert "kmod" not in package_sources(bookworm, [split])
    on_default = scenario("on-default", "kmod", userland={"7.2": "forky"})
    assert "kmod" in package_sources(bookworm, [on_default])
