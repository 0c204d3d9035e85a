"""Kernel preflight: a missing option is named before anything boots."""

from __future__ import annotations

from lab.preflight import VM_OPTIONS, describe_missing, missing_options, parse_config

CONFIG = """\
#
# Automatically generated file; DO NOT EDIT.
CONFIG_BPF_SYSCALL=y
CONFIG_NET_9P=m
CONFIG_KPROBES=y
# CONFIG_UPROBE_EVENTS is not set
CONFIG_LOCALVERSION=""
"""


def test_parse_config_keeps_set_options_and_drops_unset_ones() -> None:
    config = parse_config(CONFIG)

    assert config["CONFIG_BPF_SYSCALL"] == "y"
    assert config["CONFIG_NET_9P"] == "m"
    assert config["CONFIG_LOCALVERSION"] == '""'
    assert "CONFIG_UPROBE_EVENTS" not in config


def test_modules_and_built_ins_both_count_as_present() -> None:
    config = parse_config(CONFIG)

    assert missing_options(config, ["CONFIG_BPF_SYSCALL", "CONFIG_NET_9P"]) == []


def test_unset_and_absent_options_are_reported_in_order() -> None:
    config = parse_config(CONFIG)

    missing = missing_options(config, ["CONFIG_UPROBE_EVENTS", "CONFIG_KPROBES", "CONFIG_NOPE"])

    assert missing == ["CONFIG_UPROBE_EVENTS", "CONFIG_NOPE"]


def test_a_string_valued_option_is_not_a_feature_that_is_on() -> None:
    assert missing_options(parse_config(CONFIG), ["CONFIG_LOCALVERSION"]) == [
        "CONFIG_LOCALVERSION"]


def test_the_message_names_the_kernel_the_options_and_why_the_lab_needs_them() -> None:
    text = describe_missing("6.1.0-50-amd64", ["CONFIG_9P_FS", "CONFIG_X"], VM_OPTIONS)

    assert text == ("kernel 6.1.0-50-amd64 is built without CONFIG_9P_FS (the 9p file system), "
                    "CONFIG_X")

