"""The guest userlands: one recipe (and lock) per Debian suite a guest root is built from.

vm/rootfs.toml is the default userland (bookworm): every scenario that names
none runs on it. vm/rootfs-<suite>.toml adds another (vm/rootfs-trixie.toml, with
a newer BPF toolchain); a scenario picks it with `userland = "<suite>"`. Each is
locked (vm/rootfs-<suite>.lock), built and cached apart, like the kernel lines.
Knowing them is reading file names: nothing is fetched here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lab.arches import DEFAULT_ARCH
from lab.cache.rootfs import Recipe, load_recipe
from lab.errors import LabError
from lab.scenario import Scenario

DEFAULT_RECIPE = "rootfs.toml"
OTHER_RECIPES = "rootfs-*.toml"


@dataclass(frozen=True)
class Userlands:
    """The known userlands (suite -> its recipe file) and the default one."""

    default: str
    recipes: dict[str, Path]

    def of(self, scenario: Scenario, target: str | None = None) -> str:
        """The userland a scenario runs on a kernel target (named or not), known or
        not; target None: the one it names for every line."""
        return scenario.userland_on(target) or self.default

    def recipe(self, userland: str, arch: str = DEFAULT_ARCH.name) -> Recipe:
        """The recipe of a known userland for one architecture, with its lock."""
        return load_recipe(self.recipes[self.known(userland)],
                           default=userland == self.default, arch=arch)

    def known(self, userland: str) -> str:
        if userland not in self.recipes:
            raise LabError(f"no guest userland {userland!r}: the known ones are "
                           f"{self.describe()}")
        return userland

    def describe(self) -> str:
        """`bookworm (vm/rootfs.toml, the default), trixie (vm/rootfs-trixie.toml)`."""
        return ", ".join(f"{name} ({path.parent.name}/{path.name}"
                         f"{', the default' if name == self.default else ''})"
                         for name, path in self.recipes.items())

    def check(self, scenarios: Iterable[Scenario]) -> None:
        """Every scenario names a known userland, or a LabError naming each one that
        does not and listing the known ones (before anything is built or booted)."""
        unknown = [f"{scenario.path}: `userland` {userland!r}"
                   for scenario in scenarios for userland in scenario.userlands
                   if userland is not None and userland not in self.recipes]
        if unknown:
            raise LabError(f"{'; '.join(unknown)}: not a guest userland of this lab; the "
                           f"known ones are {self.describe()} (a userland is a recipe "
                           "vm/rootfs-<suite>.toml and its lock)")

    def needed(self, scenarios: Sequence[Scenario], target: str | None = None) -> list[str]:
        """The known userlands these scenarios run on, on a kernel target (None: on
        any), in order of first use; the default one when there are none (a shell,
        `lab prepare` of nothing)."""
        if target is None:
            used = [userland or self.default for scenario in scenarios
                    for userland in scenario.userlands]
        else:
            used = [self.of(scenario, target) for scenario in scenarios]
        found = dict.fromkeys(used)
        return [userland for userland in found if userland in self.recipes] or [self.default]

    def chosen(self, names: Sequence[str], scenarios: Sequence[Scenario]) -> list[str]:
        """The userlands a command names (each known), else the default one and every
        one the scenarios use."""
        if names:
            return list(dict.fromkeys(self.known(name) for name in names))
        self.check(scenarios)
        return list(dict.fromkeys([self.default, *self.needed(scenarios)]))


def find_userlands(default_recipe: Path) -> Userlands:
    """The default recipe (vm/rootfs.toml) and every vm/rootfs-<suite>.toml beside it.
    A recipe whose suite is not its file's name, or a suite twice, is a LabError."""
    default = load_recipe(default_recipe).suite
    recipes = {default: default_recipe}
    for path in sorted(default_recipe.parent.glob(OTHER_RECIPES)):
        named = path.name.removeprefix("rootfs-").removesuffix(".toml")
        suite = load_recipe(path, default=False).suite
        if suite != named:
            raise LabError(f"{path}: its suite is {suite!r}; the recipe of the {suite} "
                           f"userland is named rootfs-{suite}.toml")
        if suite in recipes:
            raise LabError(f"{path}: {suite} is already the userland of {recipes[suite]}")
        recipes[suite] = path
    return Userlands(default, recipes)
