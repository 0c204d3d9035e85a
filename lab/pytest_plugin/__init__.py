"""ebpf-lab's pytest plugin (entry point `pytest11`): options, fixtures, collection
of one test per scenario and kernel, and failure reports an author can act on."""

from lab.pytest_plugin.fixtures import lab_kernel, lab_settings  # noqa: F401
from lab.pytest_plugin.hooks import (  # noqa: F401  (pytest finds hooks by name here)
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_generate_tests,
    pytest_runtest_setup,
    pytest_sessionfinish,
    pytest_terminal_summary,
    pytest_unconfigure,
)
