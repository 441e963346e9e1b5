"""Property tests of the dump splitter: whatever the dumps hold, every content line lands in
exactly one post, post bodies are the dump's own lines, and one bad dump never stops the rest.

Hypothesis runs derandomized (the same examples on every run) with a bounded number of examples.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings, strategies as st

from kg import corpus
from kg.corpus import SplitOverrides

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Lines a dump may hold: prose, headings, list items, footnotes, scraping boilerplate and every
# structural signal the splitter reads (spacer lines, "Continue reading", the series preamble).
LINES = st.sampled_from([
    "", "", "", " ", "\xa0", "\xa0 \xa0", "Advertisement", "  Advertisement  ",
    "A short heading", "Another Heading", "Integrated. Personal. Commissioning.", "Personal",
    "This is prose. It has two sentences.", "It ends with a comma,", "Question without an answer?",
    "  • a bulleted item", "1. a numbered item", "[1] – a footnote", "Update (June 2014): it changed.",
    "Some text. Continue reading", "Continue reading", "This post is one in a series about PbR.",
    "Department of Health (DH) (2011b), Payment by Results: guidance (available here)",
    "x" * 170, "“Quoted title” – debunked", "#Hashtag = win", "\t tab-led line", "Ünïcödé ☃ line",
])
TITLE = st.sampled_from(["Title one", "Title two", "A patchwork quilt", "Demand and supply", "Commissioning"])


@st.composite
def dumps(draw) -> dict[str, list[str]]:
    """Up to three dumps, each opening with a title, then any mix of lines and further titles."""
    out = {}
    for n in range(draw(st.integers(1, 3))):
        lines = [draw(TITLE), ""]
        for line in draw(st.lists(st.one_of(LINES, TITLE), max_size=40)):
            lines.append(line)
        out[f"{n:03d}_dump.txt"] = lines
    return out


def _content(line: str) -> bool:
    return not corpus.is_blank(line) and not corpus.is_boilerplate(line)


@FUZZ
@given(dumps())
@example({"000_dump.txt": ["Title one", "", "Advertisement", "", "Title one", "", "\xa0", "Title two"]})
def test_every_content_line_lands_in_exactly_one_post_verbatim(raw):
    result = corpus.merge_occurrences(corpus.split_dumps(raw, SplitOverrides()))
    owner: dict[tuple[str, int], str] = {}
    for post in result.posts:
        assert post.id == corpus.slugify(post.id) and post.title.strip() == post.title
        for place in post.provenance:
            lines = raw[place.dump][place.start_line - 1:place.end_line]
            assert corpus.normalise_line(lines[0]) == post.title
            body = [line for line in lines[1:] if not corpus.is_boilerplate(line)]
            while body and corpus.is_blank(body[0]):
                body.pop(0)
            while body and corpus.is_blank(body[-1]):
                body.pop()
            assert "\n".join(body) == post.body, "a post body is not the dump's own lines"
            for number in range(place.start_line, place.end_line + 1):
                assert (place.dump, number) not in owner, f"{place.dump}:{number} is in two posts"
                owner[(place.dump, number)] = post.id
    for name, lines in raw.items():
        for number, line in enumerate(lines, 1):
            if _content(line):
                assert (name, number) in owner, f"{name}:{number} {line!r} is in no post"
    assert len({post.id for post in result.posts}) == len(result.posts)


@FUZZ
@given(dumps())
def test_posts_survive_a_write_and_read_round_trip(raw):
    result = corpus.merge_occurrences(corpus.split_dumps(raw, SplitOverrides()))
    for post in result.posts:
        again = corpus.parse_post(corpus.render_post(post), "fuzz.md")
        assert (again.id, again.title, again.body, again.provenance, again.excerpt, again.kind) == \
               (post.id, post.title, post.body, post.provenance, post.excerpt, post.kind)


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(good=dumps(), junk=st.lists(LINES.filter(lambda line: _content(line) and not corpus.is_heading_like(line)),
                                   min_size=1, max_size=5))
def test_a_dump_without_a_leading_title_is_a_failure_and_the_others_still_import(good, junk):
    # Regression: a dump whose first line is prose raised out of import_dumps and lost every dump.
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for name, lines in good.items():
            paths.append(Path(folder) / name)
            paths[-1].write_text("\n".join(lines), encoding="utf-8")
        bad = Path(folder) / "999_bad.txt"
        bad.write_text("\n\n".join(junk), encoding="utf-8")
        result = corpus.import_dumps([*paths, bad], SplitOverrides())
    assert [f.item for f in result.failures] == [str(bad)]
    assert "does not start with a post title" in result.failures[0].message
    assert "split-overrides.yaml" in result.failures[0].message
    expected = corpus.merge_occurrences(corpus.split_dumps(good, SplitOverrides()))
    assert [(p.id, p.body) for p in result.posts] == [(p.id, p.body) for p in expected.posts]
