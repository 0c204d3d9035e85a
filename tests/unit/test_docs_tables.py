"""Tables whose header ends in a column name with a space (libbpf-bootstrap's
`FILENAME/EXIT CODE`) and ecli's event tables, read by lab.docs.samples."""

from __future__ import annotations

from lab.docs.samples import is_header, parse_lines, row_columns

BOOTSTRAP = ["TIME     EVENT COMM             PID     PPID    FILENAME/EXIT CODE",
             "21:02:48 EXEC  sh               153     121     /bin/sh",
             "21:02:48 EXIT  sh               153     121     [3] (73ms)"]
ECLI = ["TIME     PID    PPID   EXIT_CODE DURATION_NS COMM   ",
        "21:03:49  194   121    3         398339210   sh"]


def test_a_header_word_may_join_names_with_a_slash() -> None:
    assert is_header(BOOTSTRAP[0])
    assert not is_header("TIME     EVENT COMM  PID/ x")


def test_a_row_with_fewer_cells_reads_the_headers_last_words_as_one_column() -> None:
    assert row_columns(BOOTSTRAP[0], 6) == ["TIME", "EVENT", "COMM", "PID", "PPID",
                                            "FILENAME/EXIT CODE"]
    assert row_columns(BOOTSTRAP[0], 7) == ["TIME", "EVENT", "COMM", "PID", "PPID",
                                            "FILENAME/EXIT", "CODE"]


def test_a_row_too_short_to_reach_the_pid_column_is_not_a_row() -> None:
    assert row_columns(BOOTSTRAP[0], 3) is None
    assert row_columns(BOOTSTRAP[0], 1) is None


def test_bootstrap_rows_keep_their_pid_comm_and_file() -> None:
    exec_row, exit_row = parse_lines(BOOTSTRAP)
    assert (exec_row.comm, exec_row.pid) == ("sh", "153")
    assert ("FILENAME/EXIT CODE", "/bin/sh") in exec_row.columns
    assert (exit_row.comm, exit_row.pid) == ("sh", "153")


def test_ecli_rows_have_pid_comm_and_the_other_fields_as_columns() -> None:
    (row,) = parse_lines(ECLI)
    assert (row.comm, row.pid) == ("sh", "194")
    assert ("EXIT_CODE", "3") in row.columns


# --- what may vary between runs: durations, and pids in PPID columns ---------------

def _findings(document: list[str], capture: list[str]) -> list[str]:
    from lab.docs.output import match_samples

    check = match_samples("doc.md", parse_lines(document), "\n".join(capture), {}, {})
    return [f.kind for f in check.findings]


def test_a_duration_column_is_a_time_and_is_not_compared() -> None:
    (row,) = parse_lines(ECLI)
    assert "DURATION_NS" not in dict(row.columns)
    other_run = [ECLI[0], "22:00:00  301   118    3         5           sh"]
    assert _findings(ECLI, other_run) == []


def test_a_parent_pid_is_a_variable_but_the_exit_code_is_not() -> None:
    (row,) = parse_lines(ECLI)
    assert row.pid_columns == (("PPID", "121"),)
    assert _findings(ECLI, [ECLI[0], "22:00:00  301   118    4         5           sh"]) == [
        "output-drift"]


def test_one_parent_in_the_sample_must_be_one_parent_in_the_run() -> None:
    document = [ECLI[0], "21:03:49  194   121    3         1           sh",
                "21:03:49  195   121    7         1           sh"]
    same = [ECLI[0], "22:00:00  301   118    3         5           sh",
            "22:00:00  302   118    7         5           sh"]
    split = [ECLI[0], "22:00:00  301   118    3         5           sh",
             "22:00:00  302   119    7         5           sh"]
    assert _findings(document, same) == []
    assert _findings(document, split) == ["relation"]


def test_a_duration_in_a_cell_may_differ_but_the_rest_of_the_cell_may_not() -> None:
    other_run = [BOOTSTRAP[0], "22:00:00 EXEC  sh               301     118     /bin/sh",
                 "22:00:00 EXIT  sh               301     118     [3] (81ms)"]
    assert _findings(BOOTSTRAP, other_run) == []
    wrong_code = [*other_run[:2], "22:00:00 EXIT  sh               301     118     [4] (81ms)"]
    assert _findings(BOOTSTRAP, wrong_code) == ["output-drift"]
