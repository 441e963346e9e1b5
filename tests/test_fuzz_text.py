"""Property tests of the text parsers: the claim splitter, the citation extractor and the
reference-line parser, on arbitrary Unicode as well as on corpus-shaped text.

test_claims.py already partitions text drawn from a corpus-like alphabet; here the text is any
Unicode (line and paragraph separators, control characters, combining marks, astral planes), and
citations and reference lines are both planted (they must come back exactly) and absent (nothing
may be invented). Hypothesis runs derandomized with bounded examples.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, assume, example, given, settings, strategies as st

from kg import citations, claims, references
from kg.model import Claim, Post
from kg.references import KEY_RULE, latex_decode

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])

# Any Unicode but lone surrogates (a str read from a UTF-8 file can never hold one).
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
# Characters the splitters treat specially, mixed with ordinary words, so examples hit the rules.
TRICKY = st.lists(st.one_of(
    st.sampled_from(["\n", "\n\n", "\r\n", "\r", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\t", "\xa0",
                     " ", ". ", "? ", "! ", "…", "e.g. ", "Dr. ", "(", ")", "“", "”", "•", "1. ", "[1] – ",
                     "(DH, 2011b:6)", "Continue reading", "\u0301", "\U0001f642", "\x00", "\ufeff"]),
    st.text(st.characters(whitelist_categories=("Lu", "Ll", "Nd")), min_size=1, max_size=8),
), max_size=60).map("".join)


def _claim(text: str, start: int = 7) -> Claim:
    return Claim(id="cfuzz000000", post_id="p", ordinal=1, start=start, end=start + len(text), text=text)


# --- the claim splitter ---------------------------------------------------------------------

def _assert_partition(body: str, post: Post) -> None:
    segments = claims.segment_post(post)
    last = 0
    covered = [False] * len(body)
    for segment in segments:
        assert last <= segment.start < segment.end <= len(body), "segments overlap or run backwards"
        assert body[segment.start:segment.end] == segment.text
        assert segment.text == segment.text.strip()
        covered[segment.start:segment.end] = [True] * (segment.end - segment.start)
        last = segment.end
    lost = "".join(ch for ch, seen in zip(body, covered) if not seen and not ch.isspace())
    assert lost == "", f"text lost between segments: {lost!r}"
    chunked = claims.chunk_post(post)
    assert all(body[c.start:c.end] == c.text for c in chunked)
    assert [c.ordinal for c in chunked] == list(range(1, len(chunked) + 1))
    assert len({c.id for c in chunked}) == len(chunked), "two claims of one post share an id"


@FUZZ
@given(body=st.one_of(ANY_TEXT, TRICKY), kind=st.sampled_from(["article", "bibliography"]))
@example(body="One.\u2028Two.\u2029Three.\x85Four.", kind="article")
@example(body="A.\r\nB.\rC.", kind="article")
def test_any_unicode_body_is_partitioned_exactly(body, kind):
    _assert_partition(body, Post(id="p", title="t", body=body, kind=kind))


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(body=TRICKY, other=TRICKY)
def test_claim_ids_do_not_depend_on_the_other_claims(body, other):
    # A claim's id is a function of its post and its own text: editing elsewhere keeps it.
    assume(body.strip() and other.strip())
    alone = {c.text: c.id for c in claims.chunk_post(Post(id="p", title="t", body=body))}
    together = claims.chunk_post(Post(id="p", title="t", body=other + "\n\n" + body))
    for claim in together:
        if claim.text in alone and not claim.id.count("-") and not alone[claim.text].count("-"):
            assert claim.id == alone[claim.text]


# --- the citation extractor -----------------------------------------------------------------

def _check_spans(text: str, found) -> None:
    claim = _claim(text)
    for citation in found:
        local = citation.start - claim.start, citation.end - claim.start
        assert text[local[0]:local[1]] == citation.raw
        assert citation.raw.strip() == citation.raw and citation.raw
        assert citation.group_raw.startswith("(") and citation.group_raw.endswith(")")
        assert citation.raw in citation.group_raw and citation.group_raw in text
        assert citation.year[:4] in citation.raw and re.fullmatch(r"(1[5-9]|20)\d\d[a-z]?", citation.year)
        assert citation.author and citation.author in citation.raw


@FUZZ
@given(st.one_of(ANY_TEXT, TRICKY))
def test_extraction_never_crashes_and_every_span_is_exact(text):
    _check_spans(text, citations.extract_citations(_claim(text)))


@FUZZ
@given(st.one_of(ANY_TEXT, TRICKY).map(lambda t: re.sub(r"[()]", " ", t)),
       st.one_of(ANY_TEXT, TRICKY).map(lambda t: re.sub(r"\d", "x", t)))
def test_no_citation_is_invented_without_an_author_year_parenthesis(no_parens, no_digits):
    assert citations.extract_citations(_claim(no_parens)) == []
    assert citations.extract_citations(_claim(no_digits)) == []


AUTHOR = st.from_regex(r"[A-Z][A-Za-z’'&. -]{0,25}[A-Za-z.]", fullmatch=True).filter(lambda a: "  " not in a)
LEAD = st.sampled_from(["", "see ", "see also ", "e.g. ", "cf. ", "for example, "])


@FUZZ
@given(before=TRICKY.map(lambda t: re.sub(r"[()]", " ", t)), after=TRICKY.map(lambda t: re.sub(r"[()]", " ", t)),
       lead=LEAD, author=AUTHOR, year=st.integers(1600, 2099), suffix=st.sampled_from(["", "a", "b"]),
       locator=st.sampled_from([None, "6", "vi", "18-19", "18–19", "3, 7"]))
@example(before="", after="", lead="", author="King’s Fund", year=2012, suffix="", locator="vi")
def test_a_planted_citation_comes_back_exactly(before, after, lead, author, year, suffix, locator):
    raw = f"{author}, {year}{suffix}" + (f":{locator}" if locator else "")
    text = f"{before}({lead}{raw}){after}"
    found = citations.extract_citations(_claim(text))
    _check_spans(text, found)
    assert [(c.author, c.year, c.locator, c.raw) for c in found] == [
        (author.strip(), f"{year}{suffix}", locator, raw)]


@FUZZ
@given(st.lists(st.tuples(AUTHOR, st.integers(1600, 2099)), min_size=2, max_size=4))
def test_several_citations_in_one_parenthesis_share_a_group(cited):
    group = "; ".join(f"{author}, {year}" for author, year in cited)
    found = citations.extract_citations(_claim(f"It was so ({group})."))
    assert [(c.author, c.year) for c in found] == [(a.strip(), str(y)) for a, y in cited]
    assert len({c.group_id for c in found}) == 1 and found[0].group_raw == f"({group})"
    assert [c.id for c in found] == [f"cfuzz000000-{n}" for n in range(1, len(cited) + 1)]


# --- the reference-line parser --------------------------------------------------------------

@FUZZ
@given(st.one_of(ANY_TEXT, TRICKY))
@example("中国卫生部 (2011), Report on care")  # regression: the key was "2011", breaking the rule
@example("1234 (2011), Title")  # regression: "12342011"
@example("– (2011a), Title")
def test_reference_line_parser_never_crashes_and_keys_follow_the_rule(line):
    ref = references.parse_reference_line(line)
    if ref is not None:
        assert KEY_RULE.match(ref.key), ref.key
        assert ref.fields["year"] in line and ref.fields["title"]
        assert references.check_library({ref.key: ref}) == []


def test_names_without_latin_letters_get_distinct_keys_that_follow_the_rule():
    keys = [references.parse_reference_line(f"{name} (2011), Report").key
            for name in ("中国卫生部", "日本厚生労働省", "1234", "5678")]
    assert all(KEY_RULE.match(key) and key.endswith("2011") for key in keys)
    assert len(set(keys)) == 4


CORPORATE = st.from_regex(r"[A-Z][A-Za-z’'&$%#_{}\\~^ -]{1,40}[a-z]", fullmatch=True).filter(
    lambda a: "  " not in a and len(a.split()) <= 12)
TITLE = st.from_regex(r"[A-Z“][^\n()]{0,80}[A-Za-z0-9.?”]", fullmatch=True).filter(lambda t: t.strip() == t)


@FUZZ
@given(author=CORPORATE, acronym=st.one_of(st.none(), st.from_regex(r"[A-Z][A-Za-z&]{0,8}", fullmatch=True)),
       year=st.integers(1600, 2099), suffix=st.sampled_from(["", "a", "c"]), title=TITLE,
       available=st.sampled_from(["", " (available here)", " (available here (pdf))"]))
@example(author="King’s Fund", acronym=None, year=2012, suffix="", title="Paying for {care} 50% & $5 \\ more",
         available="")
def test_a_planted_reference_line_round_trips_through_bibtex(author, acronym, year, suffix, title, available):
    line = f"{author}" + (f" ({acronym})" if acronym else "") + f" ({year}{suffix}), {title}{available}"
    ref = references.parse_reference_line(line)
    assert ref is not None, line
    assert latex_decode(ref.fields["institution"]) == author
    assert latex_decode(ref.fields["title"]) == title.rstrip(",;")
    assert ref.fields["year"] == str(year) and ref.key.endswith(f"{year}{suffix}")
    assert KEY_RULE.match(ref.key), ref.key
    parsed, failures = references.parse_bibtex(references.to_bibtex([ref], protect=False))
    assert failures == [] and parsed[ref.key].fields == ref.fields
