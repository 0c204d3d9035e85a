"""A tutorial's document, checked against its program and against real runs.

Authors publish a tutorial as Markdown: prose, the program in code blocks, the
commands, the workload and a sample of the output. This package reads such a
document with a CommonMark parser (line numbers kept), finds which block shows
which file of the program, compares them, parses the documented output lines
(ftrace lines, bcc tables) into shapes with pid relations, and checks them
against the program's format strings (no VM) and against a run's capture.

Pure logic apart from reading files; the CLI (`lab docs ...`) is in cli.py.
"""
