"""A SPARQL syntax error says where it is: line and column in words, and as numbers in the JSON."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from kg.errors import SparqlError
from web.sparql_endpoint import syntax_at

CASES = [
    # (query, line, column, words the message must hold)
    (
        "SELEC ?x WHERE { ?x ?y ?z }",
        1,
        1,
        "'SELEC' cannot stand here; a query starts with SELECT, CONSTRUCT, DESCRIBE or ASK",
    ),
    ("SELECT ?x WHERE { ?x ?y", 1, 19, "'?' cannot stand here"),  # the triple that is not finished
    ("SELECT ?x WHERE { ?x ?y ?z ", 1, 28, "the query ends too soon"),
    ("SELECT ?s\nWHERE { ?s ?p ?o .\n  FILTER( }", 3, 3, "'FILTER' cannot stand here; the SELECT query is not valid"),
    ("SELECT * WHERE { ?s ?p ?o } ; INSERT DATA { <a:a> <a:b> <a:c> }", 1, 29, "';' cannot stand here"),
    ("ASK {\n  ?s ?p\n}", 2, 3, "'?' cannot stand here; the ASK query is not valid"),
]


@pytest.mark.parametrize(("query", "line", "column", "words"), CASES)
def test_the_endpoint_names_the_line_and_column(web_client, query, line, column, words):
    answer = web_client.get("/sparql", query_string={"query": query}, headers={"Accept": "application/json"})
    assert answer.status_code == 400
    body = answer.get_json()
    assert (body["line"], body["column"]) == (line, column)
    assert body["error"].startswith(f"SPARQL syntax error at line {line}, column {column}: ")
    assert words in body["error"]
    assert "(line:" not in body["error"] and "at char" not in body["error"]  # no raw parser text
    page = web_client.get("/sparql", query_string={"query": query}, headers={"Accept": "text/html"})
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert f'data-line="{line}" data-column="{column}"' in html
    assert f"SPARQL syntax error at line {line}, column {column}:" in html


def test_other_errors_carry_no_place(web_client):
    answer = web_client.get(
        "/sparql", query_string={"query": "SELECT * WHERE { ?s nope:p ?o }"}, headers={"Accept": "application/json"}
    )
    assert answer.status_code == 400
    body = answer.get_json()
    assert "unknown prefix nope:" in body["error"] and "line" not in body and "column" not in body


@pytest.mark.parametrize(
    ("query", "line", "column", "expected"),
    [
        ("SELECT ?s WHERE { ?s ?p ?o ", 1, 28, 'expected "," or "." or ";" or "{" or "{|" or "}" or "~"'),
        ("SELECT * WHERE { ?s ?p ?o } LIMIT x", 1, 35, "expected HAVING or OFFSET or OPTIONAL or VALUES"),
        ("?", 1, 2, "this is not valid SPARQL here"),
    ],
)
def test_pyoxigraph_parser_messages_are_read_too(query, line, column, expected):
    """The worker's parser (pyoxigraph) words its errors otherwise; its character classes are dropped."""
    with pytest.raises(SyntaxError) as caught:
        ox.Store().query(query)
    where = syntax_at(SparqlError(f"SPARQL syntax error: {caught.value}"))
    assert where is not None
    assert (where.line, where.column) == (line, column)
    assert where.message == f"SPARQL syntax error at line {line}, column {column}: {expected}"
