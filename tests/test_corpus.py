"""Splitting the seed dumps into posts, and reading and writing post files."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg import corpus
from kg.errors import CorpusError

ROOT = Path(__file__).resolve().parents[1]
RAW = sorted((ROOT / "corpus" / "raw").glob("*.txt"))
OVERRIDES = ROOT / "corpus" / "split-overrides.yaml"

# The 37 unique posts of the seed corpus, in first-seen order; counted by reading the dumps.
TITLES = [
    "The disability rights agenda: too narrow, possibly lost, or both?",
    "“Personalisation is just a cover for cuts” – debunked",
    "Patient Opinion is your favourite band. Is NHS England the big record company? (Updated)",
    "GPs to arrange coordination of health and social care? Pfft. (Updated)",
    "#Coproduction = win (and Bill Shankly)",
    "Payment by Results in mental health: introduction",
    "Payment by Results and mental health: bibliography and reading",
    "Payment by Results in mental health and personalisation",
    "Practicalities of introducing PbR in mental health – Transition protocols, National / local tariff, "
    "Data quality, Link to social care",
    "Practicalities of introducing PbR in mental health – Defined interventions and packages of care for each cluster",
    "All too human: the need for coalitions across different motivations and organisations",
    "Another cross-party commission on health and social care?",
    "Four lessons for political reform",
    "Integration Transformation Fund: Robbing Peter to pay Paul?",
    "Personalisation and funding cuts",
    "Spending in mental health: 80% in and out",
    "The Greens may have something to say, but Natalie Bennett’s performances put them in a double bind",
    "Following the money can support personalised payment mechanisms: exploring the health payment system",
    "Self-Directed Support in mental health: what can you do differently?",
    "#SCIEroundtable on community-led social care",
    "For politicians it’s far less #timetotalk and much more #timetoact on #mentalhealth",
    "Personalisation, S117 aftercare, out-of-area placements and George Clooney",
    "What a silly thing the “Daily Mail test” is",
    "Collaborative Healthcare – new report",
    "Micro-enterprise: care and support on a scale that’s “just right”?",
    "An ownership revolution for public services?",
    "Personal budgets: summit or nowt?",
    "Why we need the government to act on the Choice Review",
    "A patchwork quilt",
    "Demand and supply",
    "Some consensus on the problem, solutions prove harder…",
    "Commissioning",
    "Personal",
    "Integrated",
    "Integrated. Personal. Commissioning.",
    "£1.25billion for children’s mental health: what’s it worth and what’s it for?",
    "Highlights from CQC’s State of Care Technical Annex and King’s Fund’s money-fest!",
]

REPEATED = {  # title -> number of dumps it appears in
    "“Personalisation is just a cover for cuts” – debunked": 2,
    "Patient Opinion is your favourite band. Is NHS England the big record company? (Updated)": 2,
    "Payment by Results in mental health: introduction": 2,
    "Payment by Results and mental health: bibliography and reading": 2,
    "Payment by Results in mental health and personalisation": 2,
    "All too human: the need for coalitions across different motivations and organisations": 2,
    "Another cross-party commission on health and social care?": 2,
    "Spending in mental health: 80% in and out": 2,
}


@pytest.fixture(scope="module")
def imported() -> corpus.ImportResult:
    return corpus.import_dumps(RAW, corpus.load_overrides(OVERRIDES))


@pytest.fixture(scope="module")
def dumps() -> dict[str, list[str]]:
    return {path.name: corpus.read_dump(path) for path in RAW}


def test_raw_dumps_are_the_seeds_byte_for_byte():
    seeds = ROOT.parent / "shared" / "seeds"
    if not seeds.is_dir():  # CI clones the repo with shared/ beside it; elsewhere compare what we can
        pytest.skip("shared/seeds is not beside the checkout")
    assert sorted(p.name for p in seeds.glob("*.txt")) == [p.name for p in RAW]
    for path in RAW:
        assert path.read_bytes() == (seeds / path.name).read_bytes()


def test_the_seed_corpus_has_37_unique_posts_in_45_occurrences(imported):
    assert imported.failures == []
    assert imported.occurrences == 45
    assert [post.title for post in imported.posts] == TITLES


def test_repeated_posts_list_every_place_they_were_found(imported):
    counts = {post.title: len(post.provenance) for post in imported.posts if len(post.provenance) > 1}
    assert counts == REPEATED
    post = next(p for p in imported.posts if p.title.startswith("Spending in mental health"))
    assert [(p.dump, p.start_line, p.end_line) for p in post.provenance] == [
        ("001_c13ba275d6eef569.txt", 162, 170), ("004_ef5f4c0efa5da5f9.txt", 325, 333)]


def test_every_content_line_of_every_dump_lands_in_exactly_one_post(imported, dumps):
    owner: dict[tuple[str, int], str] = {}
    for post in imported.posts:
        for place in post.provenance:
            for number in range(place.start_line, place.end_line + 1):
                assert (place.dump, number) not in owner, f"{place.dump}:{number} is in two posts"
                owner[(place.dump, number)] = post.id
    for name, lines in dumps.items():
        for number, line in enumerate(lines, 1):
            if corpus.is_blank(line) or corpus.is_boilerplate(line):
                continue
            assert (name, number) in owner, f"{name}:{number} is in no post: {line[:60]!r}"


def test_every_post_body_is_verbatim_dump_text(imported, dumps):
    for post in imported.posts:
        for place in post.provenance:
            lines = dumps[place.dump][place.start_line - 1:place.end_line]
            assert corpus.normalise_line(lines[0]) == post.title
            kept = [line for line in lines[1:] if not corpus.is_boilerplate(line)]
            assert post.body == "\n".join(kept).strip("\n"), f"{post.id} differs from {place.dump}"
            assert post.body == post.body.strip()
            assert "\nAdvertisement\n" not in f"\n{post.body}\n"


@pytest.mark.parametrize("post_id, heading", [
    ("personalisation-is-just-a-cover-for-cuts-debunked", "Timing"),
    ("personalisation-is-just-a-cover-for-cuts-debunked", "Conclusion"),
    ("personalisation-is-just-a-cover-for-cuts-debunked", "A deliberate plan?"),
    ("integrated", "What do we mean by ‘integration’?"),
    ("commissioning", "What difference does commissioning make?"),
    ("practicalities-of-introducing-pbr-in-mental-health-transition-protocols", "Data quality"),
    ("following-the-money-can-support-personalised-payment-mechanisms-exploring-the", "I. The health payment system"),
    ("the-greens-may-have-something-to-say-but-natalie-bennetts-performances-put-them", "Where does this leave us?"),
    ("personal", "IPC"),
])
def test_sub_headings_stay_inside_their_post(imported, post_id, heading):
    post = next(p for p in imported.posts if p.id == post_id)
    assert heading in post.body.split("\n")


def test_titles_with_non_breaking_spaces_are_found_and_normalised(dumps, imported):
    line = next(line for line in dumps["001_c13ba275d6eef569.txt"] if line.startswith("Personalisation and funding"))
    assert "\xa0" in line
    assert "Personalisation and funding cuts" in [post.title for post in imported.posts]


def test_cut_off_posts_are_marked_as_excerpts(imported):
    excerpts = sorted(post.id for post in imported.posts if post.excerpt)
    assert excerpts == ["a-patchwork-quilt", "micro-enterprise-care-and-support-on-a-scale-thats-just-right"]


def test_the_bibliography_post_is_recognised(imported):
    kinds = {post.id: post.kind for post in imported.posts if post.kind != "article"}
    assert kinds == {"payment-by-results-and-mental-health-bibliography-and-reading": "bibliography"}


def test_ids_are_unique_readable_slugs(imported):
    ids = [post.id for post in imported.posts]
    assert len(set(ids)) == len(ids)
    assert all(corpus.slugify(i) == i for i in ids)
    assert "spending-in-mental-health-80-percent-in-and-out" in ids


def test_committed_post_files_match_a_fresh_import(imported):
    posts, failures = corpus.load_posts(ROOT / "corpus" / "posts")
    assert failures == []
    assert {p.id: (p.title, p.body, p.provenance, p.excerpt, p.kind) for p in posts} == {
        p.id: (p.title, p.body, p.provenance, p.excerpt, p.kind) for p in imported.posts}


def test_render_and_parse_round_trip(imported, tmp_path):
    report = corpus.write_posts(imported.posts, tmp_path)
    assert len(report.written) == 37
    again = corpus.write_posts(imported.posts, tmp_path)
    assert again.written == [] and len(again.unchanged) == 37
    posts, failures = corpus.load_posts(tmp_path)
    assert failures == [] and {p.id: p.body for p in posts} == {p.id: p.body for p in imported.posts}


def test_without_overrides_the_unmarked_titles_stay_inside_the_previous_post():
    result = corpus.import_dumps(RAW, corpus.SplitOverrides())
    titles = {post.title for post in result.posts}
    assert "Personal" not in titles and "Demand and supply" in titles
    assert len(result.posts) < 37


def test_not_titles_override_merges_a_post_back(tmp_path):
    reviewed = corpus.load_overrides(OVERRIDES)
    overrides = corpus.SplitOverrides(reviewed.titles, frozenset({"Demand and supply"}))
    result = corpus.import_dumps(RAW, overrides)
    titles = {post.title for post in result.posts}
    assert "Demand and supply" not in titles
    quilt = next(p for p in result.posts if p.title == "A patchwork quilt")
    assert "\nDemand and supply\n" in quilt.body


@pytest.mark.parametrize("text, problem", [
    ("titles: [unclosed", "not valid YAML"),
    ("- a list\n", "expected a mapping"),
    ("titles: 3\n", "must be a list of strings"),
    ("extra: []\n", "expected a mapping with the keys"),
])
def test_bad_overrides_file_is_reported(tmp_path, text, problem):
    path = tmp_path / "o.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CorpusError, match=problem):
        corpus.load_overrides(path)


def test_a_dump_that_is_not_utf8_is_a_failure_and_the_rest_import(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes("Title\n\nCaf\xe9 society.\n".encode("latin-1"))
    result = corpus.import_dumps([*RAW, bad], corpus.load_overrides(OVERRIDES))
    assert len(result.posts) == 37
    assert [f.item for f in result.failures] == [str(bad)]
    assert "not UTF-8" in result.failures[0].message and "iconv" in result.failures[0].message


GOOD = "---\nid: a-post\ntitle: A post\n---\nBody text.\n"


@pytest.mark.parametrize("name, content, problem", [
    ("latin1.md", "---\ntitle: Caf\xe9\n---\nx\n".encode("latin-1"), "not UTF-8"),
    ("binary.md", b"---\x00\x01\x02", "binary file"),
    ("empty.md", b"", "no front matter"),
    ("nofront.md", b"Just text\n", "no front matter"),
    ("unclosed.md", b"---\ntitle: x\nbody\n", "not closed"),
    ("list.md", b"---\n- a\n- b\n---\nbody\n", "must be a mapping"),
    ("badyaml.md", b"---\ntitle: [x\n---\nbody\n", "not valid YAML"),
    ("notitle.md", b"---\nid: no-title\n---\nbody\n", "no 'title'"),
    ("badid.md", b"---\nid: Not A Slug\ntitle: x\n---\nbody\n", "not a slug"),
    ("badkind.md", b"---\ntitle: x\nkind: poem\n---\nbody\n", "unknown kind"),
    ("dup.md", GOOD.encode(), "duplicate post id"),
])
def test_bad_post_files_are_reported_with_path_and_problem(tmp_path, name, content, problem):
    (tmp_path / "a.md").write_text(GOOD, encoding="utf-8")
    (tmp_path / name).write_bytes(content)
    posts, failures = corpus.load_posts(tmp_path)
    assert [p.id for p in posts] == ["a-post"]
    assert len(failures) == 1
    assert failures[0].item == str(tmp_path / name)
    assert problem in failures[0].message


def test_missing_posts_folder_names_the_fix(tmp_path):
    with pytest.raises(CorpusError, match="kg corpus import"):
        corpus.load_posts(tmp_path / "nowhere")
