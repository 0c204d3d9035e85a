"""lab.docs without a VM: each kind of drift in a document is found, at its line;
a document without drift passes; a tutorial without a document has no findings."""

from __future__ import annotations

from pathlib import Path

from docs_tutorial import DOCUMENT, PROGRAM, SAMPLE, line_of, make_tutorial

from lab.docs.verify import own_check, static_findings
from lab.verdicts.findings import ERROR, NOTE, Finding, drifts


def findings_for(root: Path, document: str, program: str = PROGRAM) -> list[Finding]:
    scenario, project = make_tutorial(root, document, program)
    return static_findings(scenario, project)


def kinds(findings: list[Finding]) -> list[tuple[str, int]]:
    return [(f.kind, f.line) for f in findings]


def test_a_document_without_drift_passes(tmp_path: Path) -> None:
    scenario, project = make_tutorial(tmp_path)
    check = own_check(scenario, project)
    assert check is not None
    assert check.findings == []
    assert [a.label for a in check.attributions if a.source] == ["demo/demo.bpf.c"]
    confirmed = {c.line for c in check.confirmations}
    assert line_of(DOCUMENT, "ENTRY pid = 13992") in confirmed


def test_a_tutorial_without_a_document_works_as_today(tmp_path: Path) -> None:
    scenario, project = make_tutorial(tmp_path, document=None)
    assert static_findings(scenario, project) == []
    assert own_check(scenario, project) is None


def test_one_changed_code_line_is_drift_at_that_line_with_a_diff(tmp_path: Path) -> None:
    document = DOCUMENT.replace("    return 0;\n}\n\nSEC(\"kretprobe", "    return 1;\n}\n\nSEC("
                                "\"kretprobe")
    [finding] = findings_for(tmp_path, document)
    assert finding.kind == "code-drift" and finding.severity == ERROR
    assert finding.file == "bpf/demo/README.md"
    assert finding.line == line_of(document, "return 1;")
    assert "-    return 0;" in finding.detail and "+    return 1;" in finding.detail
    assert f"+{finding.line}" not in finding.detail or "@@" in finding.detail


def test_a_message_changed_in_the_code_but_not_in_the_document(tmp_path: Path) -> None:
    program = PROGRAM.replace('"EXIT: pid = %d, ret = %ld\\n"', '"EXIT: ret = %ld\\n"')
    document = DOCUMENT.replace(PROGRAM, program)  # the listing follows, the sample does not
    found = findings_for(tmp_path, document, program)
    assert kinds(found) == [("unproducible", line_of(document, "EXIT: pid = 13992")),
                            ("unproducible", line_of(document, "EXIT: pid = 14399"))]
    assert 'closest: "EXIT: ret = %ld"' in found[0].message
    assert f"demo/demo.bpf.c:{line_of(program, 'EXIT: ret')}" in found[0].message


def test_a_line_cut_at_the_terminal_width_is_truncated_not_drift(tmp_path: Path) -> None:
    cut = SAMPLE.splitlines()
    cut[1] = cut[1][:cut[1].index("ret =") + 3]          # "... EXIT: pid = 13992, ret"
    document = DOCUMENT.replace(SAMPLE, "\n".join(cut))
    found = findings_for(tmp_path, document)
    assert kinds(found) == [("truncated", line_of(document, "pid = 13992, ret"))]
    assert not drifts(found)


def test_a_bytes_repr_without_its_closing_quote_is_truncated(tmp_path: Path) -> None:
    table = ("TIME(s)            COMM             PID    MESSAGE\n"
             "125.308890000      b'rm'            269    b'EXIT: pid = 269, ret")
    document = DOCUMENT.replace(SAMPLE, table)
    found = findings_for(tmp_path, document)
    # the program prints no header: only a run can check it
    assert kinds(found) == [("not-static", line_of(document, "TIME(s)")),
                            ("truncated", line_of(document, "b'rm'"))]


def test_output_shown_only_as_an_image_is_not_checkable(tmp_path: Path) -> None:
    document = DOCUMENT.replace(f"```console\n$ sudo cat /sys/kernel/tracing/trace_pipe\n"
                                f"{SAMPLE}\n```", "![the result](img/trace-result.png)")
    found = findings_for(tmp_path, document)
    assert kinds(found) == [("no-sample", line_of(document, "```c")),
                            ("not-checkable", line_of(document, "trace-result.png"))]
    assert not drifts(found)


def test_a_code_block_that_shows_no_file_is_reported(tmp_path: Path) -> None:
    block = "```c\nint helper(void)\n{\n    return 42;\n}\n```\n"
    document = DOCUMENT.replace("## Build", block + "\n## Build")
    found = findings_for(tmp_path, document)
    assert kinds(found) == [("unmatched-block", line_of(document, "```c", 1))]


def test_a_block_named_by_a_comment_for_a_file_the_program_lacks(tmp_path: Path) -> None:
    document = DOCUMENT.replace("```c\n", "<!-- lab: file=other.bpf.c -->\n```c\n")
    found = findings_for(tmp_path, document)
    assert kinds(found) == [("unknown-file", line_of(document, "```c"))]


def test_a_skip_comment_leaves_an_illustration_alone(tmp_path: Path) -> None:
    block = "<!-- lab: skip -->\n```c\nint helper(void)\n{\n    return 42;\n}\n```\n"
    assert findings_for(tmp_path, DOCUMENT.replace("## Build", block + "\n## Build")) == []


def test_an_excerpt_is_confirmed_and_a_listing_missing_lines_is_partial(tmp_path: Path) -> None:
    excerpt = "\n".join(PROGRAM.splitlines()[12:19])        # the kretprobe only
    listing = "\n".join(PROGRAM.splitlines()[:-3])          # the end of the file lost
    document = DOCUMENT.replace("## Build", f"Then:\n\n```c\n{excerpt}\n```\n\n## Build")
    document = document.replace(PROGRAM, listing + "\n")
    scenario, project = make_tutorial(tmp_path, document)
    check = own_check(scenario, project)
    assert check is not None
    assert kinds(check.findings) == [("code-partial", line_of(document, "```c") + 1)]
    assert any("lines 13-19" in c.what and "excerpt" in c.what for c in check.confirmations)


def test_findings_serialise_with_file_line_and_severity(tmp_path: Path) -> None:
    document = DOCUMENT.replace("ret = %ld", "ret = %d")
    [finding] = findings_for(tmp_path, document)
    record = finding.to_json()
    assert record["file"] == "bpf/demo/README.md" and record["line"] == finding.line
    assert record["kind"] == "code-drift" and record["severity"] == "error"
    assert finding.text().startswith(f"bpf/demo/README.md:{finding.line}: error: [code-drift]")


def test_a_block_that_differs_only_in_white_space_is_a_note_not_drift(tmp_path: Path) -> None:
    tabbed = PROGRAM.replace("    ", "\t")
    document = DOCUMENT.replace(PROGRAM, tabbed)
    found = findings_for(tmp_path, document)
    assert kinds(found) == [("code-whitespace", line_of(document, "{") + 1)]
    assert found[0].severity == NOTE and "tabs against spaces" in found[0].message
    assert not drifts(found)


def test_a_real_change_in_a_re_indented_block_is_drift_at_its_own_line(tmp_path: Path) -> None:
    changed = PROGRAM.replace("    ", "\t").replace('"EXIT: pid', '"LEAVE: pid')
    document = DOCUMENT.replace(PROGRAM, changed)
    found = [f for f in findings_for(tmp_path, document) if f.kind == "code-drift"]
    assert [f.line for f in found] == [line_of(document, '"LEAVE: pid')]
    assert "1 line(s) the file does not have" in found[0].message
    assert found[0].detail.count("\n+\t") == 1  # the re-indented lines are not in the diff


def test_an_excerpt_with_lines_left_out_is_a_note_saying_what_was_left_out(
        tmp_path: Path) -> None:
    lines = PROGRAM.splitlines()
    gapped = [line for line in lines[4:19] if "pid_t pid" not in line]   # both probes, no pid
    marked = [*lines[4:8], "    // ...", *lines[9:11]]                  # one line elided
    document = DOCUMENT.replace("## Build", "Then:\n\n```c\n" + "\n".join(gapped) +
                                "\n```\n\nand\n\n```c\n" + "\n".join(marked) + "\n```\n\n## Build")
    found = [f for f in findings_for(tmp_path, document) if f.kind.startswith("code-")]
    first, second = line_of(document, "```c", 1) + 1, line_of(document, "```c", 2) + 1
    assert kinds(found) == [("code-excerpt", first), ("code-excerpt", second)]
    assert "2 of its lines left out without a mark" in found[0].message
    assert "`pid_t pid = bpf_get_current_pid_tgid() >> 32;`" in found[0].message
    assert "marked with `...`" in found[1].message
    assert all(f.severity == NOTE for f in found)


def test_a_one_line_block_with_a_comment_in_the_reader_s_language_is_attributed(
        tmp_path: Path) -> None:
    line = '    bpf_printk("EXIT: pid = %d, ret = %ld\\n", pid, ret); // 終了を表示する'
    document = DOCUMENT + f"\n## Notes\n\nThen:\n\n```\n{line}\n```\n"
    scenario, project = make_tutorial(tmp_path, document)
    check = own_check(scenario, project)
    assert check is not None
    block = line_of(document, "終了")
    assert [a.label for a in check.attributions if a.code.first == block] == ["demo/demo.bpf.c"]
    assert kinds(check.findings) == [("code-whitespace", block)]
    assert "a comment after the code" in check.findings[0].message


def test_comment_lines_a_block_adds_to_the_files_code_are_an_excerpt_note(
        tmp_path: Path) -> None:
    lines = PROGRAM.splitlines()
    explained = [*lines[4:7], "    // the pid is the thread group's", *lines[7:11]]
    document = DOCUMENT.replace("## Build", "Then:\n\n```c\n" + "\n".join(explained) +
                                "\n```\n\n## Build")
    found = [f for f in findings_for(tmp_path, document) if f.kind.startswith("code-")]
    assert kinds(found) == [("code-excerpt", line_of(document, "```c", 1) + 1)]
    assert "1 comment line(s) of its own added (e.g. `// the pid is the thread group's`)" \
        in found[0].message
    assert found[0].severity == NOTE


def test_drift_is_placed_at_its_first_changed_line_of_code_not_an_added_comment(
        tmp_path: Path) -> None:
    lines = PROGRAM.splitlines()
    changed = [*lines[4:7], "    // the pid is the thread group's",
               lines[7], lines[8].replace("ENTRY", "ENTER"), *lines[9:11]]
    document = DOCUMENT.replace("## Build", "Then:\n\n```c\n" + "\n".join(changed) +
                               "\n```\n\n## Build")
    found = [f for f in findings_for(tmp_path, document) if f.kind == "code-drift"]
    assert [f.line for f in found] == [line_of(document, '"ENTER pid')]
    assert found[0].message.endswith('`bpf_printk("ENTER pid = %d, filename = %s\\n", pid, '
                                     'BPF_CORE_READ(name, name));`')
