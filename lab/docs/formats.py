"""The messages a program can print: its format strings, as patterns.

Format strings are taken from bpf_printk/bpf_trace_printk/printf calls in C
(including C held in a Python string, as bcc scripts do) and from print/printb
in Python. Each becomes a regex over the printed text, and a second regex that
accepts any prefix of such a text, which is how a line cut at a terminal's
width is told from a line the program cannot print.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from lab.docs.program import SourceFile

C_CALL = re.compile(r"\b(?P<fn>bpf_printk|bpf_trace_printk|printf|BPF_SEQ_PRINTF)\s*\(\s*"
                    r"(?:\w+\s*,\s*)?(?P<lits>(?:\"(?:[^\"\\\n]|\\.)*\"\s*)+)")
C_ARGUMENTS = re.compile(r"\s*(?P<args>(?:,\s*\"(?:[^\"\\\n]|\\.)*\"\s*)+)\)")
C_LITERAL = re.compile(r"\"((?:[^\"\\\n]|\\.)*)\"")
CONVERSION = re.compile(r"%(?P<flags>[-+ #0]*)(?P<width>\*|\d+)?(?:\.(?:\*|\d+))?"
                        r"(?:hh|h|ll|l|L|z|j|t|q)?(?P<conv>p[a-zA-Z0-9]*|[diouxXeEfgGcs%])")
C_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "r": "\r", "0": ""}


@dataclass(frozen=True)
class Format:
    file: str
    line: int
    text: str     # the format string as written (escapes resolved, trailing newline cut)
    kernel: bool  # printed by the BPF program (trace_pipe, a bcc MESSAGE column)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def formats_of(source: SourceFile) -> list[Format]:
    if is_python(source):
        return _python_formats(source)
    return _c_formats(source.name, source.text, 1)


def is_python(source: SourceFile) -> bool:
    """A Python script by its suffix, or by its shebang (bcc tools often have none)."""
    first = source.text.split("\n", 1)[0]
    return source.name.endswith(".py") or (first.startswith("#!") and "python" in first)


def _c_formats(name: str, text: str, first_line: int) -> list[Format]:
    found = []
    for match in C_CALL.finditer(text):
        literal = "".join(_c_unescape(m.group(1)) for m in C_LITERAL.finditer(match["lits"]))
        line = first_line + text[:match.start()].count("\n")
        kernel = match["fn"] in ("bpf_printk", "bpf_trace_printk")
        found.append(Format(name, line, literal.rstrip("\n"), kernel))
        header = _constant_c_header(literal, text[match.end():])
        if header is not None:
            found.append(Format(name, line, header, kernel))
    return found


def _constant_c_header(literal: str, rest: str) -> str | None:
    """`printf("%-8s %-5s\\n", "TIME", "EVENT")`: a loader's header, printed as is."""
    arguments = C_ARGUMENTS.match(rest)
    if arguments is None:
        return None
    values = [_c_unescape(m.group(1)) for m in C_LITERAL.finditer(arguments["args"])]
    try:
        return (literal % tuple(values)).rstrip("\n").replace("%", "%%")
    except (TypeError, ValueError):
        return None


def _c_unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: C_ESCAPES.get(m.group(1), m.group(1)), body)


def _python_formats(source: SourceFile) -> list[Format]:
    try:
        tree = ast.parse(source.text)
    except SyntaxError:
        return _c_formats(source.name, source.text, 1)
    found: list[Format] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "(" in node.value:
            found += _c_formats(source.name, node.value, node.lineno)
        if isinstance(node, ast.Call) and _called(node) in ("print", "printb") and node.args:
            text = _python_literal(node.args[0])
            if text is not None:
                found.append(Format(source.name, node.lineno, text, False))
            header = _constant_header(node.args[0])
            if header is not None:
                found.append(Format(source.name, node.lineno, header, False))
    return found


def _constant_header(node: ast.expr) -> str | None:
    """`"%-9s %-6s" % ("TIME", "PID")`: the text printed, as bcc tools print headers."""
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod)
            and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str)
            and isinstance(node.right, ast.Tuple)):
        return None
    values = [v.value for v in node.right.elts if isinstance(v, ast.Constant)]
    if len(values) != len(node.right.elts) or not all(isinstance(v, str) for v in values):
        return None
    try:
        return (node.left.value % tuple(values)).replace("%", "%%")
    except (TypeError, ValueError):
        return None


def _called(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _python_literal(node: ast.expr) -> str | None:
    """The format a print argument prints: "..." % x, f"...", "...".format(), b"..."."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        node = node.left
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "format":
        node = node.func.value
        value = node.value if isinstance(node, ast.Constant) else None
        return re.sub(r"\{[^}]*\}", "%s", value) if isinstance(value, str) else None
    if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
        value = node.value
        return value.decode(errors="replace") if isinstance(value, bytes) else value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) and isinstance(v.value, str)
                       else "%s" for v in node.values)
    return None


def _conversion_regex(match: re.Match[str]) -> str:
    conv = match["conv"]
    if conv == "%":
        return "%"
    body = {"d": r"-?\d+", "i": r"-?\d+", "u": r"\d+", "o": r"[0-7]+", "x": r"[0-9a-f]+",
            "X": r"[0-9A-F]+", "c": r".", "s": r".*"}.get(conv, r"\S+")
    if "#" in match["flags"] and conv in "xX":
        body = "0[xX]" + body
    return rf"\s*{body}\s*" if match["width"] else body


def pieces(text: str) -> list[tuple[bool, str]]:
    """The format cut into (is_conversion, regex) pieces; literal text escaped."""
    found: list[tuple[bool, str]] = []
    position = 0
    for match in CONVERSION.finditer(text):
        if match.start() > position:
            found.append((False, text[position:match.start()]))
        found.append((match["conv"] != "%", _conversion_regex(match)))
        position = match.end()
    if position < len(text):
        found.append((False, text[position:]))
    return found


def _literal(text: str) -> str:
    return r"\s+".join(re.escape(part) for part in re.split(r"\s+", text))


def full_regex(fmt: str) -> re.Pattern[str]:
    body = "".join(regex if conv else _literal(regex) for conv, regex in pieces(fmt.rstrip()))
    return re.compile(rf"\s*{body}\s*", re.DOTALL)


def prefix_regex(fmt: str) -> re.Pattern[str]:
    """Matches every prefix of a text the format can print (the empty text too)."""
    parts = pieces(fmt.rstrip())
    pattern = ""
    for conv, regex in reversed(parts):
        whole = regex if conv else _literal(regex)
        part = regex if conv else _prefix_of_literal(regex)
        pattern = f"(?:{whole}(?:{pattern})?|{part})" if pattern else f"(?:{part})"
    return re.compile(rf"\s*{pattern}", re.DOTALL)


def _prefix_of_literal(text: str) -> str:
    out = ""
    for char in reversed(text):
        piece = r"\s+" if char.isspace() else re.escape(char)
        out = f"{piece}(?:{out})?" if out else piece
    return f"(?:{out})?"


def produces(fmt: Format, message: str) -> bool:
    return full_regex(fmt.text).fullmatch(message.rstrip()) is not None


def produces_prefix(fmt: Format, message: str) -> bool:
    return prefix_regex(fmt.text).fullmatch(message) is not None
