"""Run read-only SPARQL over the graph store, in worker processes that cannot reach the network.

A query's \\u and \\U escapes are expanded once (normalise_query), so the checker and the
executor read the same text. A worker process, cut off from the network before it reads any
query (a seccomp filter, else an empty network namespace), then parses it with rdflib's parser
(Update, LOAD and SERVICE refused, nesting bounded) and runs it on a read-only pyoxigraph store,
under a time limit (the worker is killed at the deadline), a memory limit (RLIMIT_DATA) and caps
on rows and answer bytes. A pool bounds how many queries run and wait at once. Results come
back as plain values and are serialised here, exactly as the W3C formats define them (table,
SPARQL JSON/XML, CSV, TSV; Turtle, N-Triples, JSON-LD, RDF/XML for graphs); a form a result has
not got (ASK as CSV, a control character in XML) is NotAcceptable (406). A Dataset names the
store graphs a query reads (the protocol's default-graph-uri and named-graph-uri) and the base
IRI its relative IRIs resolve against.
"""

from __future__ import annotations

import csv
import ctypes
import errno
import functools
import io
import json
import multiprocessing
import os
import platform
import re
import resource
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

import pyoxigraph as ox
from pyparsing import ParseException
from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue

from . import formats
from . import store as store_mod
from .errors import KGError, NotFound, QueryRefused, QueryTimeout, SparqlError, closest
from .graph import serialize, store_path
from .settings import Settings
from .vocab import PREFIXES

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


# --- Reading a query the way its executor does -------------------------------------------------

_CODEPOINT_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
# What rdflib's parser would still expand (it reads \u and \U alike, with 4 or 8 digits).
_ESCAPE_LEFT = re.compile(r"\\[uU][0-9A-Fa-f]{4}")


def normalise_query(text: str) -> str:
    """Return ``text`` with its \\u and \\U codepoint escapes expanded, as SPARQL 1.1 (19.2) reads it.

    The escapes stand for characters anywhere in a query, not only in strings: rdflib's parser
    expands them all, Oxigraph only those in strings, so the same text meant two queries (a
    SERVICE inside what the checker read as one long string). Both now get this expanded text,
    and a text whose expansion spells a new escape (``\\u005Cu0022``) is refused, since it would
    be read differently again by whichever reader expands a second time.
    """

    def expand(match: re.Match) -> str:
        digits = match.group(1) or match.group(2)
        escape = ("\\u" if match.group(1) else "\\U") + digits
        point = int(digits, 16)
        where = f"at character {match.start() + 1}"
        if point > 0x10FFFF:
            raise SparqlError(
                f"the escape {escape} {where} is not a Unicode code point (the largest is \\U0010FFFF)",
                hint="fix the escape, or write the character itself",
            )
        if 0xD800 <= point <= 0xDFFF:
            raise SparqlError(
                f"the escape {escape} {where} is a lone surrogate, which is not Unicode text",
                hint="write the character itself, or one \\U escape for characters past U+FFFF",
            )
        return chr(point)

    expanded = _CODEPOINT_ESCAPE.sub(expand, text)
    left = _ESCAPE_LEFT.search(expanded)
    if left:
        raise SparqlError(
            f"the query's escapes spell a further escape {left.group()} once expanded "
            f"(near character {left.start() + 1}): SPARQL expands escapes once, so its meaning is ambiguous",
            hint="write the characters themselves instead of escaping a backslash",
        )
    return expanded


# --- Checking a query before it runs ----------------------------------------------------------


def _walk(node: Any):
    """Yield every CompValue in a parse tree (queries nest in sub-selects, EXISTS, OPTIONAL...)."""
    if isinstance(node, CompValue):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, (list, tuple)) or type(node).__name__ == "ParseResults":
        for item in node:
            yield from _walk(item)


def _field(node: CompValue, name: str) -> str:
    # CompValue.get returns the key itself when it is missing, so test membership instead.
    return str(node[name]) if name in node and node[name] is not None else ""


#: Deepest nesting of groups, parentheses and brackets a query may have. Real queries stay
#: under 20; both parsers recurse per level (rdflib in Python, Oxigraph on the C stack).
MAX_NESTING = 100

# Strings, IRIs and comments may hold brackets that nest nothing, so they are skipped whole.
_NESTING_TOKENS = re.compile(
    r"""
    "{3}(?:[^"\\]|\\.|"(?!""))*"{3}      # long strings
  | '{3}(?:[^'\\]|\\.|'(?!''))*'{3}
  | "(?:[^"\\\n\r]|\\.)*"                # short strings
  | '(?:[^'\\\n\r]|\\.)*'
  | <[^<>"{}|^`\\\x00-\x20]*>            # IRIs
  | \#[^\n\r]*                           # comments
  | [{(\[] | [})\]]
""",
    re.VERBOSE | re.DOTALL,
)


def nesting_depth(text: str) -> int:
    """Return how deep groups, parentheses and brackets nest in a query (outside strings and IRIs)."""
    depth = deepest = 0
    for token in _NESTING_TOKENS.finditer(text):
        char = token.group()
        if char in "{([":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "})]":
            depth = max(0, depth - 1)
    return deepest


def check_query(text: str) -> str:
    """Parse ``text`` and return its form (select, ask, construct, describe) if it may run.

    Raises QueryRefused for SPARQL Update (including LOAD) and SERVICE, and SparqlError with the
    parser's message for anything that is not SPARQL. ``text`` is read as normalise_query reads it.
    """
    text = normalise_query(text)
    depth = nesting_depth(text)
    if depth > MAX_NESTING:
        raise SparqlError(
            f"the query nests groups or parentheses too deeply: {depth} levels, the limit is {MAX_NESTING}",
            hint="flatten it: fewer nested { } and ( ), or a sub-query per level",
        )
    try:
        return _checked(text)[0]
    except RecursionError:
        # rdflib's parser recurses per nested level and per pattern; the worker allows WORKER_RECURSION_LIMIT.
        raise SparqlError(
            "the query nests groups or parentheses too deeply to be checked",
            hint="flatten it: fewer nested { } and ( ), or a sub-query per level",
        ) from None


#: Query texts that passed the check, remembered by each process that checks (a query worker): the
#: named queries and a page's repeated queries are parsed by rdflib once (20-80 ms each), not per run.
CHECKED_QUERIES = 256


@functools.lru_cache(maxsize=CHECKED_QUERIES)
def _checked(text: str) -> tuple[str, bool]:
    """_check's answer for a text that passes (lru_cache keeps no refusal: a refused text raises)."""
    return _check(text)


def capped(text: str, max_rows: int) -> str:
    """The query as the worker runs it: a SELECT with no LIMIT of its own (and no trailing VALUES,
    which must stay last) ends with ``LIMIT max_rows + 1``, the rows kept plus one to tell that
    there were more. Oxigraph then keeps only the best rows of an ORDER BY as it goes, instead of
    sorting every solution first (19,416 single-source claims at 10,000 posts: 1.6 s instead of
    5.1 s). Other forms run as written: a CONSTRUCT's solutions are not its triples."""
    if not _checked(normalise_query(text))[1]:
        return text
    return f"{text}\nLIMIT {max_rows + 1}"


def _check(text: str) -> tuple[str, bool]:
    try:
        parsed = parseQuery(text)
    except ParseException as exc:
        try:
            update = parseUpdate(text)
        except ParseException:
            raise SparqlError(
                f"SPARQL syntax error: {exc}", hint="fix the query; prefixes such as cito:, kg:, skos: are pre-declared"
            ) from None
        if "request" not in update:
            # An empty text (or only comments and PREFIX lines) parses as an Update with no operations.
            raise SparqlError(
                "the query is empty: it has no SELECT, ASK, CONSTRUCT or DESCRIBE",
                hint="write a query such as SELECT * WHERE { ?s ?p ?o } LIMIT 10",
            ) from None
        names = {node.name for node in _walk(update)}
        if "Load" in names:
            raise QueryRefused(
                "LOAD is refused: queries here are read-only and never fetch remote data",
                hint="load data by adding it to corpus/ and running `kg build`",
            ) from None
        raise QueryRefused(
            "SPARQL Update is refused: queries here are read-only",
            hint="change the graph by editing corpus/ or ontology/ and running `kg build`",
        ) from None
    declared = set(PREFIXES)
    for node in _walk(parsed):
        if node.name == "PrefixDecl":
            declared.add(_field(node, "prefix"))
    for node in _walk(parsed):
        if node.name == "pname" and _field(node, "prefix") not in declared:
            prefix = _field(node, "prefix")
            raise SparqlError(
                f"unknown prefix {prefix}: in {prefix}:{_field(node, 'localname')}",
                hint=f"declare it (PREFIX {prefix}: <...>) or use one of the pre-declared "
                + ", ".join(f"{p}:" for p in PREFIXES),
            )
        if node.name == "ServiceGraphPattern":
            raise QueryRefused(
                "SERVICE is refused: queries here never call other endpoints",
                hint="remove the SERVICE clause; run federated queries against an endpoint you control",
            )
    query = parsed[1]
    form = query.name.removesuffix("Query").lower()  # e.g. "SelectQuery"
    # rdflib's CompValue: `in` tells whether the query has the clause.
    open_ended = (
        form == "select"
        and "valuesClause" not in query
        and ("limitoffset" not in query or "limit" not in query["limitoffset"])
    )
    return form, open_ended


# --- Results ---------------------------------------------------------------------------------


@dataclass
class QueryResult:
    """What a query answered: rows for SELECT, a boolean for ASK, triples for CONSTRUCT/DESCRIBE.

    Terms are SPARQL 1.1 JSON term objects (``{"type": "uri", "value": ...}``); simple literals
    carry no datatype, as in the SPARQL JSON format.
    """

    kind: str  # "select" | "ask" | "graph"
    variables: list[str] = field(default_factory=list)
    rows: list[dict[str, dict]] = field(default_factory=list)
    boolean: bool | None = None
    ntriples: str = ""  # the CONSTRUCT/DESCRIBE result as N-Triples
    truncated: bool = False
    seconds: float = 0.0
    bytes: int = 0  # what the rows' values counted against ``sparql_max_bytes``

    def values(self) -> list[dict[str, str]]:
        """Return the rows as var -> plain value (IRI or lexical form)."""
        return [{name: term["value"] for name, term in row.items()} for row in self.rows]

    def column(self, name: str) -> list[str | None]:
        """Return one variable's values, None where unbound."""
        return [row[name]["value"] if name in row else None for row in self.rows]

    def to_json(self) -> dict:
        """Return the SPARQL 1.1 JSON results object, exactly as the format defines it.

        A result cut off at the row cap says so with ``head.link`` (TRUNCATED_LINK), the format's
        own place for notes about a result; a new top-level member would make strict parsers
        (Oxigraph's among them) reject the answer.
        """
        head: dict[str, Any] = {} if self.kind == "ask" else {"vars": self.variables}
        if self.truncated:
            head["link"] = [TRUNCATED_LINK]
        if self.kind == "ask":
            return {"head": head, "boolean": bool(self.boolean)}
        if self.kind == "graph":
            raise NotAcceptable(
                "a CONSTRUCT or DESCRIBE result is a graph, not a table",
                hint="ask for " + ", ".join(sorted(GRAPH_FORMATS)),
            )
        return {"head": head, "results": {"bindings": self.rows}}

    def format_name(self, format: str) -> str:
        """Return the writer name for ``format`` (an alias or media type), checked against this result.

        ``xml`` and ``json`` name the SPARQL results formats for tables and RDF/XML and JSON-LD
        for graphs, as SPARQLWrapper and other clients use them. Raises NotAcceptable (406) for a
        format this kind of result has not got (ASK is not defined in CSV or TSV).
        """
        found = formats.lookup(format, graph=self.kind == "graph")
        name = found.name if found is not None else format.strip().lower()
        if name not in FORMATS:
            raise NotAcceptable(f"unknown result format {format!r}", hint="use one of " + ", ".join(sorted(FORMATS)))
        kinds = GRAPH_FORMATS if self.kind == "graph" else ASK_FORMATS if self.kind == "ask" else TABLE_FORMATS
        if name not in kinds:
            what = "CONSTRUCT/DESCRIBE" if self.kind == "graph" else self.kind.upper()
            raise NotAcceptable(
                f"format {name} does not fit a {what} result", hint="use one of " + ", ".join(sorted(kinds))
            )
        return name

    def serialize(self, format: str = "table") -> str:
        """Return the result in ``format`` (see FORMATS; aliases such as ttl are accepted)."""
        return FORMATS[self.format_name(format)](self)


def _compact(term: dict) -> str:
    value = term["value"]
    if term["type"] == "uri":
        for prefix, iri in PREFIXES.items():
            if value.startswith(iri) and re.fullmatch(r"[\w\-.]*", value[len(iri) :]):
                return f"{prefix}:{value[len(iri) :]}"
        return f"<{value}>"
    if term["type"] == "bnode":
        return f"_:{value}"
    return value


def _nt_term(term: dict) -> str:
    if term["type"] == "uri":
        return f"<{term['value']}>"
    if term["type"] == "bnode":
        return f"_:{term['value']}"
    if term["type"] == "triple":
        return "<< " + " ".join(_nt_term(term["value"][k]) for k in ("subject", "predicate", "object")) + " >>"
    text = json.dumps(term["value"], ensure_ascii=False)
    if "xml:lang" in term:
        return f"{text}@{term['xml:lang']}"
    if "datatype" in term:
        return f"{text}^^<{term['datatype']}>"
    return text


def _table(result: QueryResult) -> str:
    if result.kind == "ask":
        return "yes\n" if result.boolean else "no\n"
    header = result.variables
    body = [[_compact(row[v]).replace("\n", " ") if v in row else "" for v in header] for row in result.rows]
    widths = [max([len(h)] + [min(len(r[i]), 80) for r in body]) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        parts = [(c if len(c) <= 80 else c[:79] + "…").ljust(w) for c, w in zip(cells, widths)]
        return "  ".join(parts).rstrip() + "\n"

    out = [line(header), line(["-" * w for w in widths])] + [line(r) for r in body]
    count = len(result.rows)
    out.append(f"({count} row{'s' if count != 1 else ''}{', truncated' if result.truncated else ''})\n")
    return "".join(out)


def _json(result: QueryResult) -> str:
    return json.dumps(result.to_json(), ensure_ascii=False, indent=2) + "\n"


def _csv(result: QueryResult, delimiter: str = ",") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(result.variables)
    for row in result.rows:
        writer.writerow([_csv_value(row[v]) if v in row else "" for v in result.variables])
    return buffer.getvalue()


def _csv_value(term: dict) -> str:
    # SPARQL 1.1 CSV: IRIs and literals bare, blank nodes as _:label (so they stay apart from IRIs).
    if term["type"] == "bnode":
        return f"_:{term['value']}"
    if term["type"] == "triple":
        return _nt_term(term)
    return str(term["value"])


def _tsv(result: QueryResult) -> str:
    # SPARQL 1.1 TSV: header ?vars, values as RDF terms, tabs and newlines escaped in literals.
    lines = ["\t".join(f"?{v}" for v in result.variables)]
    for row in result.rows:
        lines.append("\t".join(_nt_term(row[v]).replace("\t", "\\t") if v in row else "" for v in result.variables))
    return "\n".join(lines) + "\n"


#: Characters XML 1.0 cannot hold, even escaped (its Char production): C0 controls but tab,
#: newline and carriage return, and U+FFFE, U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _check_xml_text(text: str, where: str) -> None:
    """Refuse (406) a value XML 1.0 cannot carry, rather than write ill-formed XML or alter the value."""
    found = _NOT_XML.search(text)
    if found:
        raise NotAcceptable(
            f"{where} holds the character U+{ord(found.group()):04X}, which XML 1.0 cannot "
            "carry, so this answer has no XML form",
            hint="ask for JSON (application/sparql-results+json) or TSV, which carry every "
            "character; or Turtle/N-Triples for a graph",
        )


def _texts(term: dict):
    """Yield every string of a SPARQL JSON term (a quoted triple's parts too)."""
    if term["type"] == "triple":
        for part in term["value"].values():
            yield from _texts(part)
        return
    yield str(term["value"])
    yield from (term[key] for key in ("xml:lang", "datatype") if key in term)


def _xml(result: QueryResult) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n']
    link = f"    <link href={quoteattr(TRUNCATED_LINK)}/>\n" if result.truncated else ""
    if result.kind == "ask":
        out.append(
            ("  <head>\n" + link + "  </head>\n" if link else "  <head/>\n")
            + "  <boolean>"
            + ("true" if result.boolean else "false")
            + "</boolean>\n</sparql>\n"
        )
        return "".join(out)
    out.append(
        "  <head>\n"
        + "".join(f"    <variable name={quoteattr(v)}/>\n" for v in result.variables)
        + link
        + "  </head>\n  <results>\n"
    )
    for number, row in enumerate(result.rows, 1):
        out.append("    <result>\n")
        for name, term in row.items():
            _check_xml_text(" ".join(_texts(term)), f"the value of ?{name} in row {number}")
            out.append(f"      <binding name={quoteattr(name)}>{_xml_term(term)}</binding>\n")
        out.append("    </result>\n")
    out.append("  </results>\n</sparql>\n")
    return "".join(out)


def _xml_term(term: dict) -> str:
    if term["type"] == "uri":
        return f"<uri>{xml_escape(term['value'])}</uri>"
    if term["type"] == "bnode":
        return f"<bnode>{xml_escape(term['value'])}</bnode>"
    attrs = ""
    if "xml:lang" in term:
        attrs = f" xml:lang={quoteattr(term['xml:lang'])}"
    elif "datatype" in term:
        attrs = f" datatype={quoteattr(term['datatype'])}"
    return f"<literal{attrs}>{xml_escape(str(term['value']))}</literal>"


def _graph_writer(fmt: ox.RdfFormat) -> Callable[[QueryResult], str]:
    def write(result: QueryResult) -> str:
        triples = list(ox.parse(result.ntriples.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES))
        if fmt == ox.RdfFormat.RDF_XML:
            for number, triple in enumerate(triples, 1):
                _check_xml_text(
                    " ".join(_texts(_term(ox.Triple(triple.subject, triple.predicate, triple.object)))),
                    f"triple {number} of the graph",
                )
        try:
            return serialize(triples, fmt, PREFIXES).decode("utf-8")
        except ValueError as exc:  # RDF/XML cannot write every predicate IRI (one ending in a digit run...)
            raise NotAcceptable(
                f"this graph has no {fmt.name} form: {exc}", hint="ask for Turtle or N-Triples, which write every graph"
            ) from None

    return write


FORMATS: dict[str, Callable[[QueryResult], str]] = {
    "table": _table,
    "json": _json,
    "xml": _xml,
    "csv": _csv,
    "tsv": _tsv,
    **{f.name: _graph_writer(f.rdf) for f in formats.FORMATS if f.rdf is not None},
}
TABLE_FORMATS = set(formats.names("table")) | {"table"}
ASK_FORMATS = formats.ASK_FORMATS
GRAPH_FORMATS = set(formats.names("graph"))
#: The ``head.link`` of a result cut off at the row cap: the kg vocabulary's note on it.
TRUNCATED_LINK = PREFIXES["kg"] + "TruncatedResult"


class NotAcceptable(SparqlError):
    """The result has no form in the format asked for."""

    status = 406


# --- Cutting the worker off from the network -------------------------------------------------
# pyoxigraph has no switch to turn SERVICE off, so the process that executes queries must be
# unable to open a network connection at all: a query the checker misreads still reaches nothing.

_SECCOMP_ARCH = {
    # machine: (AUDIT_ARCH_*, syscall numbers of socket, connect, io_uring_setup, seccomp)
    "x86_64": (0xC000003E, {"socket": 41, "connect": 42, "io_uring_setup": 425, "seccomp": 317}),
    "aarch64": (0xC00000B7, {"socket": 198, "connect": 203, "io_uring_setup": 425, "seccomp": 277}),
}
_AF_UNIX = 1


def _seccomp_program(audit_arch: int, numbers: dict[str, int]) -> list[tuple[int, int, int, int]]:
    """Return a BPF filter: socket() only for AF_UNIX; connect() and io_uring never; else allow."""
    ld_abs, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, deny = 0x7FFF0000, 0x00050000 | errno.EPERM  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO
    # (code, jump if true, jump if false, k); jumps count instructions after this one.
    return [
        (ld_abs, 0, 0, 4),  # 0 the calling convention (arch)
        (jeq, 0, 9, audit_arch),  # 1 another arch's syscalls -> deny
        (ld_abs, 0, 0, 0),  # 2 the syscall number
        (jge, 7, 0, 0x40000000),  # 3 x32 numbers -> deny
        (jeq, 3, 0, numbers["socket"]),  # 4 socket -> look at its family
        (jeq, 5, 0, numbers["connect"]),  # 5 connect -> deny
        (jeq, 4, 0, numbers["io_uring_setup"]),  # 6 io_uring can open sockets itself -> deny
        (ret, 0, 0, allow),  # 7
        (ld_abs, 0, 0, 16),  # 8 socket's first argument (low half): family
        (jeq, 0, 1, _AF_UNIX),  # 9
        (ret, 0, 0, allow),  # 10 AF_UNIX
        (ret, 0, 0, deny),  # 11
    ]


def _install_seccomp() -> None:
    machine = platform.machine()
    if machine not in _SECCOMP_ARCH:
        raise OSError(f"no seccomp filter for {machine}")
    audit_arch, numbers = _SECCOMP_ARCH[machine]
    program = _seccomp_program(audit_arch, numbers)

    class SockFilter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]

    filters = (SockFilter * len(program))(*[SockFilter(*insn) for insn in program])
    fprog = SockFprog(len(program), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS, required to filter unprivileged
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    # seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC): every thread, not just this one.
    if libc.syscall(ctypes.c_long(numbers["seccomp"]), 1, 1, ctypes.byref(fprog)) != 0:
        raise OSError(ctypes.get_errno(), "seccomp(SECCOMP_SET_MODE_FILTER)")


def _enter_empty_network_namespace() -> None:
    """Move this process into a new network namespace, which has no interface up (not even lo)."""
    uid, gid = os.getuid(), os.getgid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x10000000 | 0x40000000) != 0:  # CLONE_NEWUSER | CLONE_NEWNET
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWUSER | CLONE_NEWNET)")
    # Keep our own uid and gid inside, so the store's files stay readable as before.
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")


def network_is_unreachable() -> bool:
    """Return True if this process can open no IP connection, not even to the loopback address.

    A UDP connect sends nothing; it only asks the kernel for a route.
    """
    for family, address in (
        (socket.AF_INET, ("127.0.0.1", 9)),
        (socket.AF_INET, ("192.0.2.1", 9)),
        (socket.AF_INET6, ("::1", 9)),
    ):
        try:
            probe = socket.socket(family, socket.SOCK_DGRAM)
        except OSError:
            continue
        with probe:
            try:
                probe.connect(address)
            except OSError:
                continue
            return False
    return True


def cut_off_network(methods: tuple[str, ...] = ("seccomp", "netns")) -> str:
    """Make this process unable to reach any network; return the method that worked.

    Tries a seccomp filter (x86_64, aarch64), then an empty network namespace, and checks the
    result either way. Raises SparqlError if no method is proven, so a worker never runs a query
    that could call out.
    """
    failures = []
    for method in methods:
        try:
            (_install_seccomp if method == "seccomp" else _enter_empty_network_namespace)()
        except OSError as exc:
            failures.append(f"{method}: {exc}")
            continue
        if network_is_unreachable():
            return method
        failures.append(f"{method}: the network was still reachable")
    raise SparqlError(
        "the SPARQL worker could not be cut off from the network, so no query runs (" + "; ".join(failures) + ")",
        hint="run kg on Linux x86_64 or aarch64 (seccomp), or allow unprivileged user namespaces",
    )


# --- The worker process ----------------------------------------------------------------------


class QueryLimit(SparqlError):
    """A query passed a limit of the worker that runs it (memory), or no worker slot came free."""

    status = 503


class AnswerTooLarge(SparqlError):
    """A query's answer passed ``sparql_max_bytes``."""

    status = 413


def _term(term: Any) -> dict:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value not in (XSD_STRING, RDF_LANG_STRING):
            out["datatype"] = term.datatype.value
        return out
    if isinstance(term, ox.Triple):
        return {
            "type": "triple",
            "value": {"subject": _term(term.subject), "predicate": _term(term.predicate), "object": _term(term.object)},
        }
    raise TypeError(f"unexpected term {term!r}")  # pragma: no cover


def _term_bytes(term: Any) -> int:
    """Roughly what a term costs in an answer: its text plus a little framing."""
    if isinstance(term, ox.Triple):
        return _term_bytes(term.subject) + _term_bytes(term.predicate) + _term_bytes(term.object)
    size = len(term.value) + 16
    if isinstance(term, ox.Literal):
        size += len(term.language or "") or len(term.datatype.value)
    return size


def _too_large(max_bytes: int) -> AnswerTooLarge:
    return AnswerTooLarge(
        f"the answer passed the limit of {max_bytes:,} bytes and was stopped",
        hint="narrow the query (fewer or shorter values, a LIMIT) or raise sparql_max_bytes (KG_SPARQL_MAX_BYTES)",
    )


@dataclass(frozen=True)
class Dataset:
    """The RDF dataset a query runs over, from the protocol's parameters, and the base IRI.

    ``default_graphs`` and ``named_graphs`` (default-graph-uri, named-graph-uri) name graphs of
    kg's own store, as Oxigraph's and Fuseki's servers read them: a graph the store does not hold
    is empty, and nothing is ever fetched. When either is given it replaces the query's FROM and
    FROM NAMED (SPARQL 1.1 Protocol 2.1.4); a FROM with neither names store graphs too. ``None``
    for both is the store's default graph, where kg's data lives.
    """

    default_graphs: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    base_iri: str | None = None

    def query_options(self) -> dict:
        options: dict[str, Any] = {"base_iri": self.base_iri}
        if self.default_graphs is not None or self.named_graphs is not None:
            options["default_graph"] = [ox.NamedNode(iri) for iri in self.default_graphs or ()]
            options["named_graphs"] = [ox.NamedNode(iri) for iri in self.named_graphs or ()]
        return options


def graph_iri(value: str, parameter: str) -> str:
    """Return ``value`` if it is an absolute IRI that can name a graph; else SparqlError naming it."""
    try:
        ox.NamedNode(value)
    except ValueError:
        raise SparqlError(
            f"{parameter}={value!r} is not an absolute IRI",
            hint=f"give {parameter} a full IRI such as https://kg.example.org/graph, percent-encoded",
        ) from None
    if not re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:", value):
        raise SparqlError(f"{parameter}={value!r} is not an absolute IRI", hint="give it a scheme such as https:")
    return value


def execute(
    store: store_mod.LiveStore,
    text: str,
    params: dict[str, str] | None,
    max_rows: int,
    max_bytes: int = 2**62,
    dataset: Dataset | None = None,
) -> dict:
    """Run a checked query on an open store and return a plain, picklable result.

    Raises AnswerTooLarge once the values collected pass ``max_bytes``.
    """
    substitutions: dict[ox.Variable, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple] = {
        ox.Variable(name): ox.Literal(value) for name, value in (params or {}).items()
    }
    began = time.perf_counter()
    answer = store.query(text, prefixes=PREFIXES, substitutions=substitutions, **(dataset or Dataset()).query_options())
    size = 0
    if isinstance(answer, ox.QueryBoolean):
        return {"kind": "ask", "boolean": bool(answer), "seconds": time.perf_counter() - began}
    if not isinstance(answer, ox.QuerySolutions):  # CONSTRUCT, DESCRIBE (a server's answer is a list)
        triples: list[ox.Triple] = []
        truncated = False
        for triple in answer:
            if len(triples) == max_rows:
                truncated = True
                break
            size += _term_bytes(triple)
            if size > max_bytes:
                raise _too_large(max_bytes)
            triples.append(triple)
        data = serialize(triples, ox.RdfFormat.N_TRIPLES).decode("utf-8")
        return {"kind": "graph", "ntriples": data, "truncated": truncated, "seconds": time.perf_counter() - began}
    variables = [v.value for v in answer.variables]
    rows: list[dict[str, Any]] = []
    truncated = False
    # A value seen before (a concept, a post's title, an ordinal) is the same object in every row
    # it stands in: made once, and pickled once on its way out of the worker (a reference after
    # that). At 10,000 rows of a claim list that is a third of the bytes. Every cell still counts.
    seen: dict[Any, tuple[dict, int]] = {}
    for solution in answer:
        if len(rows) == max_rows:
            truncated = True
            break
        row = {}
        for name, value in zip(variables, solution):
            if value is not None:
                known = seen.get(value)
                if known is None:
                    known = seen[value] = (_term(value), _term_bytes(value))
                row[name] = known[0]
                size += known[1]
        if size > max_bytes:
            raise _too_large(max_bytes)
        rows.append(row)
    return {
        "kind": "select",
        "variables": variables,
        "rows": rows,
        "truncated": truncated,
        "bytes": size,
        "seconds": time.perf_counter() - began,
    }


#: rdflib's parser recurses a few dozen frames per triple pattern and per nesting level; Python's
#: default limit of 1,000 refused 100 flat patterns. This one admits any flat query up to
#: max_query_chars and refuses nesting deeper than about 1,500 parentheses.
WORKER_RECURSION_LIMIT = 50_000
#: Oxigraph's parser recurses on the C stack: 3,000 nested groups overflowed the default 8 MiB and
#: killed the process, so queries run on a thread with room for everything a query can nest.
WORKER_STACK_BYTES = 64 * 2**20

_ERRORS = {
    "SparqlError": SparqlError,
    "QueryRefused": QueryRefused,
    "AnswerTooLarge": AnswerTooLarge,
    "QueryLimit": QueryLimit,
}


def _answer(
    store: ox.Store | None,
    text: str,
    params: dict[str, str] | None,
    max_rows: int,
    max_bytes: int,
    dataset: Dataset | None = None,
) -> tuple:
    try:
        form = check_query(text)
        if store is None:  # the graph is on an external server: the caller runs the checked query there
            # As written, not capped(): Virtuoso refuses a sorted LIMIT above its MaxSortedTopRows
            # (10,000 by default: "SR353: Sorted TOP clause specifies more then 10001 rows").
            return ("ok", {"kind": "checked", "form": form})
        return ("ok", execute(store, capped(text, max_rows), params, max_rows, max_bytes, dataset))
    except KGError as exc:
        return ("kgerror", type(exc).__name__, exc.message, exc.hint)
    except SyntaxError as exc:
        return ("syntax", str(exc))
    except MemoryError:
        return ("memory", "")
    except Exception as exc:
        return ("error", f"{type(exc).__name__}: {exc}")


def _serve(conn, memory_mb: int | None) -> None:
    """Answer queries sent over ``conn`` until told to stop; keep the last store open."""
    try:
        cut_off_network()
        refusal = None
    except SparqlError as exc:
        refusal = ("kgerror", "QueryLimit", exc.message, exc.hint)
    # pyparsing builds its caches on the first parse (157 ms here): pay that while starting, so it
    # counts against the start-up allowance rather than the first query's time limit.
    check_query("ASK { ?s ?p ?o }")
    if memory_mb:
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        limit = memory_mb * 2**20 if hard == resource.RLIM_INFINITY else min(hard, memory_mb * 2**20)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    opened: tuple[str, ox.Store] | None = None
    while True:
        try:
            message = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if message is None:
            return
        path, text, params, max_rows, max_bytes, dataset = message
        if refusal:
            conn.send(refusal)
            continue
        try:
            if path is None:
                opened = None
            elif opened is None or opened[0] != path:
                opened = None  # release the previous store's files first
                opened = (path, ox.Store.read_only(path))
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
            continue
        # The time limit counts from here: parsing and checking are the query's time too.
        conn.send(("started", None))
        reply = _answer(opened[1] if opened else None, text, params, max_rows, max_bytes, dataset)
        try:
            conn.send(reply)
        except (BrokenPipeError, EOFError):
            return
        if reply[0] == "memory":
            return  # a worker that ran out of memory is replaced, not reused


def _worker_main(conn, memory_mb: int | None = None) -> None:
    """The worker process: cut off the network, then serve queries on a thread with a deep stack."""
    sys.setrecursionlimit(WORKER_RECURSION_LIMIT)
    threading.stack_size(WORKER_STACK_BYTES)
    thread = threading.Thread(target=_serve, args=(conn, memory_mb), name="kg-sparql-query")
    thread.start()
    thread.join()


class _Worker:
    def __init__(self, context, memory_mb: int | None) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_worker_main, args=(child, memory_mb), daemon=True, name="kg-sparql-worker"
        )
        self.process.start()
        child.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.process.join(2)
        if self.process.is_alive():
            self.kill()
        else:
            self.conn.close()


#: Longest wait for a worker to start and open the store before the query's own time limit begins.
STARTUP_SECONDS = 30.0


def _rss_mib(pid: int | None) -> float:
    """The resident memory of a process in MiB (0 when it cannot be read)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def server_capacity(settings: Settings) -> tuple[int, int]:
    """Return (slots, queue) for a web server: what the settings ask, leaving page threads free.

    SPARQL requests hold a server thread while they run or wait, so running plus waiting queries
    stay at least two below ``threads`` (one below with fewer than three threads).
    """
    spare = settings.threads - (2 if settings.threads >= 3 else 1)
    slots = max(1, min(settings.sparql_slots, spare))
    queue = max(0, min(settings.sparql_queue, spare - slots))
    return slots, queue


class QueryPool:
    """Worker processes that run queries; one per running query, killed at the deadline.

    Thread-safe: the web server's threads share one pool. At most ``slots`` queries run at once
    (None: no bound) and at most ``queue`` more wait, each up to ``wait`` seconds, for a slot; past
    that a query is refused at once, so queries never hold every thread of the server. Up to
    ``keep`` idle workers stay warm (with their store open) for the next query. Each worker may
    use ``memory_mb`` of data memory (None: no limit).
    """

    #: An idle worker bigger than this is stopped rather than kept: a query over much of a large
    #: graph leaves its worker holding Oxigraph's caches (206 MiB at 10,000 posts).
    MAX_IDLE_RSS_MIB = 128

    def __init__(
        self,
        keep: int = 1,
        *,
        slots: int | None = None,
        queue: int = 0,
        wait: float = 5.0,
        memory_mb: int | None = None,
    ) -> None:
        # forkserver: forking a multi-threaded server process directly could copy held locks.
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["kg.sparql"])
        self._keep = keep
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self.slots, self.queue, self.wait, self.memory_mb = slots, queue, wait, memory_mb
        self._running = self._waiting = 0
        self._free = threading.Condition(self._lock)

    @classmethod
    def for_settings(cls, settings: Settings, *, server: bool = False) -> QueryPool:
        """Return a pool with the limits of ``settings`` (a server's also leave page threads free)."""
        slots, queue = server_capacity(settings) if server else (settings.sparql_slots, settings.sparql_queue)
        return cls(slots=slots, queue=queue, wait=settings.sparql_queue_seconds, memory_mb=settings.sparql_memory_mb)

    def _enter(self) -> None:
        with self._free:
            if self.slots is None or self._running < self.slots:
                self._running += 1
                return
            if self._waiting >= self.queue:
                raise QueryLimit(
                    f"all {self.slots} SPARQL query slots are busy and {self._waiting} more queries wait already",
                    hint="try again in a moment; the server's sparql_slots and sparql_queue "
                    "(KG_SPARQL_SLOTS, KG_SPARQL_QUEUE) set how many run and wait",
                )
            self._waiting += 1
            try:
                deadline = time.monotonic() + self.wait
                while self._running >= self.slots:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise QueryLimit(
                            f"no SPARQL query slot came free within {self.wait:g} s",
                            hint="try again in a moment, or raise sparql_queue_seconds "
                            "(KG_SPARQL_QUEUE_SECONDS) or sparql_slots",
                        )
                    self._free.wait(left)
                self._running += 1
            finally:
                self._waiting -= 1

    def _leave(self) -> None:
        with self._free:
            self._running -= 1
            self._free.notify()

    def _acquire(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.process.is_alive():
                    return worker
                worker.kill()
        return _Worker(self._context, self.memory_mb)

    def _release(self, worker: _Worker) -> None:
        if _rss_mib(worker.process.pid) > self.MAX_IDLE_RSS_MIB:
            worker.stop()
            return
        with self._lock:
            if len(self._idle) < self._keep:
                self._idle.append(worker)
                return
        worker.stop()

    def worker_pids(self) -> list[int]:
        """Return the process ids of the idle workers (for measuring their memory)."""
        with self._lock:
            return [w.process.pid for w in self._idle if w.process.pid]

    def run(
        self,
        path: str | None,
        text: str,
        params: dict[str, str] | None,
        max_rows: int,
        timeout: float,
        max_bytes: int = 2**62,
        dataset: Dataset | None = None,
    ) -> dict:
        """Check and run a query in a worker; raise QueryTimeout if it passes ``timeout`` seconds."""
        self._enter()
        try:
            return self._run(path, text, params, max_rows, timeout, max_bytes, dataset)
        finally:
            self._leave()

    def _died(self, worker: _Worker) -> QueryLimit:
        worker.kill()
        code = worker.process.exitcode
        if code == -signal.SIGABRT or self.memory_mb is None:
            limit = f"its memory limit of {self.memory_mb} MB" if self.memory_mb else "the memory available"
            return QueryLimit(
                f"the query needed more than {limit} and was stopped",
                hint="narrow the query (fewer patterns joined, a LIMIT, shorter strings) "
                "or raise sparql_memory_mb (KG_SPARQL_MEMORY_MB)",
            )
        return QueryLimit(
            f"the query worker stopped unexpectedly (exit status {code})",
            hint="narrow the query; if it recurs, report the query",
        )

    def _run(
        self,
        path: str | None,
        text: str,
        params: dict[str, str] | None,
        max_rows: int,
        timeout: float,
        max_bytes: int,
        dataset: Dataset | None,
    ) -> dict:
        worker = self._acquire()
        try:
            worker.conn.send((path, text, params, max_rows, max_bytes, dataset))
            # Starting a worker and opening the store are not the query's time: under load they
            # took long enough that quick queries were stopped as if they were runaways.
            if not worker.conn.poll(max(timeout, STARTUP_SECONDS)):
                worker.kill()
                raise QueryTimeout(
                    f"no query worker could start within {max(timeout, STARTUP_SECONDS):g} s",
                    hint="the server is overloaded; try again in a moment",
                )
            reply = worker.conn.recv()
            if reply[0] == "started":
                if not worker.conn.poll(timeout):
                    worker.kill()
                    raise QueryTimeout(
                        f"the query ran past its time limit of {timeout:g} s and was stopped",
                        hint="narrow it (more specific patterns, a LIMIT) or raise sparql_timeout (KG_SPARQL_TIMEOUT)",
                    )
                reply = worker.conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError):
            raise self._died(worker) from None
        status = reply[0]
        if status == "memory":
            raise self._died(worker)
        self._release(worker)
        if status == "kgerror":
            _, name, message, hint = reply
            raise _ERRORS.get(name, SparqlError)(message, hint=hint)
        if status == "syntax":
            raise SparqlError(f"SPARQL syntax error: {reply[1]}", hint="fix the query")
        if status == "error":
            raise SparqlError(f"the query failed: {reply[1]}", hint="check the query and that the store is built")
        return reply[1]

    def close(self) -> None:
        """Stop every idle worker."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()


_default_pools: dict[tuple, QueryPool] = {}
_default_lock = threading.Lock()


def default_pool(settings: Settings | None = None) -> QueryPool:
    """Return the process-wide pool for the limits of ``settings`` (query slots, queue, wait and
    worker memory), created on first use: settings with other limits get a pool of their own,
    never one whose workers were started with someone else's memory limit."""
    key = (
        (settings.sparql_slots, settings.sparql_queue, settings.sparql_queue_seconds, settings.sparql_memory_mb)
        if settings
        else ()
    )
    with _default_lock:
        if key not in _default_pools:
            _default_pools[key] = QueryPool.for_settings(settings) if settings else QueryPool()
        return _default_pools[key]


def run_query(
    settings: Settings,
    text: str,
    *,
    timeout: float | None = None,
    max_rows: int | None = None,
    params: dict[str, str] | None = None,
    pool: QueryPool | None = None,
    dataset: Dataset | None = None,
    max_bytes: int | None = None,
) -> QueryResult:
    """Run a read-only SPARQL query on the built graph and return its result.

    Our prefixes are pre-declared. ``params`` binds variables to string literals (so ``?key``
    can be set from outside). At most ``max_rows`` rows come back (``truncated`` says if more
    existed) and at most ``max_bytes`` (``sparql_max_bytes``) of values; past ``timeout`` seconds the query is
    stopped with QueryTimeout. The query is checked and run in a worker process cut off from
    the network, so this process never parses it. ``dataset`` (default: the store's default
    graph) says which graphs it reads; relative IRIs resolve against ``base_iri`` unless the
    dataset names another base.
    """
    if dataset is None or dataset.base_iri is None:
        dataset = Dataset(
            dataset.default_graphs if dataset else None, dataset.named_graphs if dataset else None, settings.base_iri
        )
    if len(text) > settings.max_query_chars:
        raise SparqlError(
            f"the query is {len(text)} characters long; the limit is {settings.max_query_chars}",
            hint="shorten it or raise max_query_chars (KG_MAX_QUERY_CHARS)",
        )
    if re.search(r"[\ud800-\udfff]", text):
        raise SparqlError(
            "the query holds a lone surrogate code point, which is not Unicode text",
            hint="send the query as UTF-8; write such characters as \\u escapes",
        )
    text = normalise_query(text)
    for name in params or {}:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise SparqlError(f"bad parameter name {name!r}", hint="use a SPARQL variable name such as key")
    remote = settings.store == store_mod.SPARQL
    # With an external store the worker only checks the query (no store path to open) and the
    # query then runs on the server, under the same row, byte and time limits.
    path = None if remote else str(store_path(settings))
    timeout = settings.sparql_timeout if timeout is None else timeout
    max_rows = settings.sparql_max_rows if max_rows is None else max_rows
    max_bytes = settings.sparql_max_bytes if max_bytes is None else max_bytes
    began = time.perf_counter()
    payload = (pool or default_pool(settings)).run(path, text, params, max_rows, timeout, max_bytes, dataset)
    if remote:
        # The server gets the whole time limit: the check above had its own (and starting a
        # worker, which it may have waited for, counts against neither).
        live = store_mod.open_live(settings, timeout=timeout)
        assert isinstance(live, store_mod.RemoteStore)
        live.form = payload["form"]
        payload = execute(live, text, params, max_rows, max_bytes, dataset)
    return QueryResult(
        kind=payload["kind"],
        variables=payload.get("variables", []),
        rows=payload.get("rows", []),
        boolean=payload.get("boolean"),
        ntriples=payload.get("ntriples", ""),
        truncated=payload.get("truncated", False),
        seconds=round(time.perf_counter() - began, 4),
        bytes=payload.get("bytes", 0),
    )


# --- Named queries ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NamedQuery:
    """A query file of ontology/queries: its name, what it answers, its parameters and text."""

    name: str
    description: str
    params: tuple[tuple[str, str], ...]  # (name, description)
    text: str
    path: Path
    #: ``# each: NAME SELECT ...``: left unset, NAME is bound to the values the SELECT lists, in
    #: its order, a few at a time (run_named).
    each: tuple[str, str] | None = None

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "params": [{"name": n, "description": d} for n, d in self.params],
            "path": str(self.path),
        }


def _read_named(path: Path) -> NamedQuery:
    text = path.read_text(encoding="utf-8")
    description: list[str] = []
    params: list[tuple[str, str]] = []
    each: tuple[str, str] | None = None
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        body = line.lstrip("#").strip()
        match = re.match(r"param:\s*\??([A-Za-z_]\w*)\s*(?:[-—:]\s*)?(.*)", body)
        if match:
            params.append((match.group(1), match.group(2).strip()))
        elif found := re.match(r"each:\s*\??([A-Za-z_]\w*)\s+(SELECT\b.*)", body, re.IGNORECASE):
            each = (found.group(1), found.group(2))
        elif body and not params:
            description.append(body)
    if each is not None and each[0] not in {name for name, _ in params}:
        raise SparqlError(
            f"{path.name}: '# each: {each[0]}' names no parameter of the query",
            hint="name one of its '# param:' variables",
        )
    return NamedQuery(path.stem, " ".join(description), tuple(params), text, path, each)


def list_named_queries(settings: Settings) -> list[NamedQuery]:
    """Return the named queries of ``ontology/queries/*.rq``, sorted by name."""
    folder = settings.ontology_dir / "queries"
    return [_read_named(path) for path in sorted(folder.glob("*.rq"))]


def named_query(settings: Settings, name: str) -> NamedQuery:
    """Return one named query, or raise NotFound listing the closest names."""
    path = settings.ontology_dir / "queries" / f"{name}.rq"
    if re.fullmatch(r"[\w\-]+", name) and path.exists():
        return _read_named(path)
    names = [q.name for q in list_named_queries(settings)]
    close = closest(name, names, n=3, cutoff=0.4)
    raise NotFound(
        f"no named query {name!r}",
        hint=("did you mean " + ", ".join(close) + "? " if close else "") + "`kg sparql --list` shows them all",
        suggestions=close,
    )


def _sparql_string(value: str) -> str:
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    )
    return f'"{escaped}"'


_OUTER_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)


def bind_values(text: str, params: dict[str, str], more: list[dict[str, str]] | None = None) -> str:
    """Return ``text`` with ``params`` bound by a VALUES block opening its outermost WHERE group.

    The one binding rule for the named queries and the catalog's own queries; a query with no
    WHERE group is an error, never a query run unbound.

    Oxigraph applies ``substitutions`` after planning, so a bound ?key did not narrow the
    patterns: claims-citing-source for one key took 200 ms at 3,000 posts, against 10 ms with
    the value in the group, where the planner starts from it. The named queries are ours, so
    their outer WHERE is the first one outside comments (sub-queries nest inside it). ``more``
    adds rows of values for the same variables: the query answers for each row.
    """
    if not params:
        return text
    # Search a copy with comment lines blanked, so a comment never hides or fakes the WHERE.
    masked = re.sub(r"(?m)^[ \t]*#.*$", lambda m: " " * len(m.group()), text)
    match = _OUTER_WHERE.search(masked)
    if match is None:
        raise SparqlError(
            "the query has no WHERE { ... } to bind its parameters in",
            hint="write the query as SELECT ... WHERE { ... }",
        )
    names = sorted(params)
    rows = [params, *(more or [])]
    block = (
        " VALUES ("
        + " ".join(f"?{n}" for n in names)
        + ") { "
        + " ".join("(" + " ".join(_sparql_string(row[n]) for n in names) + ")" for row in rows)
        + " }"
    )
    return text[: match.end()] + block + text[match.end() :]


def run_named(settings: Settings, name: str, params: dict[str, str] | None = None, **options: Any) -> QueryResult:
    """Run a named query with its ``# param:`` variables bound from ``params``."""
    query = named_query(settings, name)
    declared = {n for n, _ in query.params}
    unknown = sorted(set(params or {}) - declared)
    if unknown:
        raise SparqlError(
            f"named query {name} has no parameter {', '.join(unknown)}",
            hint="its parameters: " + (", ".join(sorted(declared)) or "none"),
        )
    if query.each is not None and query.each[0] not in (params or {}):
        return _run_each(settings, query, dict(params or {}), **options)
    return run_query(settings, bind_values(query.text, params or {}), **options)


#: How many values the first query of a ``# each:`` run binds; each later one binds twice as many.
EACH_FIRST = 1


def _run_each(
    settings: Settings,
    query: NamedQuery,
    params: dict[str, str],
    *,
    timeout: float | None = None,
    max_rows: int | None = None,
    **options: Any,
) -> QueryResult:
    """Answer a named query with its ``# each:`` parameter unset, a few of its values at a time.

    The rows are the unbound query's, in its order: the query's first sort key is the rank the
    values are listed by, so the rows of one value come before the next value's, and the answers
    for the values in turn are the whole answer in order. What this buys is the row cap: the
    whole list for every concept or source is hundreds of thousands of rows at 10,000 posts, and
    the store has to join every one before it can sort, where the first values' rows fill the
    cap. The time limit, row cap and byte limit hold for the run as a whole.
    """
    assert query.each is not None
    name, values_query = query.each
    timeout = settings.sparql_timeout if timeout is None else timeout
    max_rows = settings.sparql_max_rows if max_rows is None else max_rows
    max_bytes = options.pop("max_bytes", None)
    max_bytes = settings.sparql_max_bytes if max_bytes is None else max_bytes
    began = time.perf_counter()

    def left() -> float:
        remaining = timeout - (time.perf_counter() - began)
        if remaining <= 0:
            raise QueryTimeout(
                f"the query ran past its time limit of {timeout:g} s and was stopped",
                hint="bind its parameter or raise sparql_timeout (KG_SPARQL_TIMEOUT)",
            )
        return remaining

    listed = run_query(settings, values_query, timeout=left(), max_rows=2**31, **options)
    values = [row[name]["value"] for row in listed.rows if name in row]
    # A second variable of the values query is how many rows each value is expected to answer
    # (a count of the statistics graph): each query then binds as many values as should fill
    # what is left of the cap, and no more. Without it, twice as many values each time.
    weight = next((v for v in listed.variables if v != name), None)
    expected = [int(row[weight]["value"]) if weight and weight in row else 0 for row in listed.rows if name in row]
    if not values:  # nothing to list the values from (no statistics graph): the query as written
        return run_query(
            settings, bind_values(query.text, params), timeout=left(), max_rows=max_rows, max_bytes=max_bytes, **options
        )
    answer = QueryResult(kind="select")
    done, batch = 0, EACH_FIRST
    while done < len(values):
        if weight:
            # Enough values to fill the cap and show that more rows exist (one past it).
            wanted, batch, filled = max_rows - len(answer.rows) + 1, 0, 0
            while done + batch < len(values) and (batch == 0 or filled < wanted):
                filled += expected[done + batch]
                batch += 1
        chunk = [{**params, name: value} for value in values[done : done + batch]]
        part = run_query(
            settings,
            bind_values(query.text, chunk[0], chunk[1:]),
            timeout=left(),
            max_rows=max_rows - len(answer.rows),
            max_bytes=max_bytes - answer.bytes,
            **options,
        )
        answer.variables = answer.variables or part.variables
        answer.rows += part.rows
        answer.bytes += part.bytes
        done, batch = done + len(chunk), batch * 2
        if part.truncated:
            answer.truncated = True
            break
    answer.seconds = round(time.perf_counter() - began, 4)
    return answer
