"""Posts in the formats users have (Markdown, saved HTML, RSS, Atom, WordPress export, dumps),
read through `kg build` and `kg corpus import` on the real files of tests/data/posts."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from kg import claims, corpus
from kg.cli import main
from kg.posts import read_file, reader_for

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "posts"
FILES = DATA / "corpus"
BAD = DATA / "bad"
DUMP = DATA / "dumps" / "council-scrape.txt"
EXPECTED = yaml.safe_load((DATA / "expected.yaml").read_text(encoding="utf-8"))


def run(args: list[str], env: dict[str, str] | None = None):
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


@pytest.fixture(scope="module")
def loaded():
    posts, failures = corpus.load_posts(FILES)
    assert failures == []
    return {post.id: post for post in posts}


@pytest.fixture(scope="module")
def segments(loaded):
    return {pid: claims.segment_post(post) for pid, post in loaded.items()}


def make_corpus(tmp_path: Path, *extra: Path) -> Path:
    target = tmp_path / "corpus"
    (target / "posts").mkdir(parents=True)
    for path in [*FILES.iterdir(), *extra]:
        shutil.copy(path, target / "posts" / path.name)
    shutil.copy(ROOT / "corpus" / "references.bib", target / "references.bib")
    return target


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """tests/data/posts/corpus and the dump, built by `kg build` into a data folder."""
    tmp = tmp_path_factory.mktemp("posts-build")
    corpus_dir = make_corpus(tmp, DUMP)
    data = tmp / "data"
    env = {"KG_CORPUS_DIR": str(corpus_dir), "KG_DATA_DIR": str(data)}
    result = CliRunner().invoke(main, ["build", "--json"], env=env)
    return corpus_dir, env, result


# --------------------------------------------------------------------------- readers

@pytest.mark.parametrize("name, reader", [
    ("discharge-delays.md", "markdown"), ("personal-health-budgets.md", "markdown"),
    ("mental-health-beds.html", "html"), ("spending-feed.rss", "feed"), ("prevention-updates.atom", "feed"),
    ("council-blog.wordpress.xml", "wxr"),
])
def test_the_registry_picks_the_reader_from_the_file_type(name, reader):
    path = FILES / name
    assert reader_for(path, path.read_text(encoding="utf-8")).NAME == reader


def test_kg_build_reads_every_format_in_one_folder(built):
    corpus_dir, env, result = built
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    # 10 posts from 7 files (a feed of 2, a WordPress export of 2 posts beside an attachment and a
    # draft), and 3 from the dump placed among them.
    assert summary["counts"]["posts"] == len(EXPECTED["posts"]) + 3
    posts, _ = corpus.load_posts(corpus_dir / "posts")
    assert summary["counts"]["claims"] == sum(len(claims.chunk_post(p)) for p in posts) > 60


def test_author_date_and_url_are_in_the_graph(built):
    _, env, _ = built
    query = ("SELECT ?id ?name ?date ?url { ?p a fabio:BlogPost ; dcterms:identifier ?id . "
             "OPTIONAL { ?p dcterms:creator/foaf:name ?name } OPTIONAL { ?p dcterms:issued ?date } "
             "OPTIONAL { ?p fabio:hasURL ?url } }")
    result = run(["sparql", query, "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    rows = {b["id"]["value"]: b for b in json.loads(result.stdout)["results"]["bindings"]}
    for post_id, want in EXPECTED["posts"].items():
        row = rows[post_id]
        assert row.get("name", {}).get("value") == want.get("author"), post_id
        assert row.get("date", {}).get("value") == want.get("date"), post_id
        if "date" in want:
            assert row["date"]["datatype"].endswith("#date")
        assert row.get("url", {}).get("value") == want.get("url"), post_id


@pytest.mark.parametrize("post_id", sorted(EXPECTED["posts"]))
def test_each_post_records_its_title_author_date_url_links_and_sections(loaded, segments, post_id):
    want = EXPECTED["posts"][post_id]
    post = loaded[post_id]
    assert post.title == want["title"]
    assert (post.author, post.date, post.url) == (want.get("author"), want.get("date"), want.get("url"))
    assert post.excerpt is bool(want.get("excerpt", False))
    assert {post.body[link.start:link.end]: link.url for link in post.links} == want.get("links", {})
    headings = [s.text for s in segments[post_id] if s.kind == "heading"]
    assert headings == want.get("sections", [])
    # Headings become the sections of the claims under them.
    sections = {c.section for c in claims.chunk_post(post)} - {None}
    assert sections == set(want.get("sections", []))


def test_ids_come_from_the_front_matter_the_slug_or_the_file_name(loaded):
    assert "icbs-one-year-on" in loaded  # 'id:' in its front matter
    assert "discharge-delays" in loaded and "personal-health-budgets" in loaded  # file names
    assert "direct-payments-approach" in loaded  # the WordPress slug
    assert "falls-strength-classes" in loaded  # the last part of the entry's address


def test_a_wordpress_export_gives_its_published_posts_only(loaded):
    from_export = [p for p in loaded.values() if p.path.endswith("council-blog.wordpress.xml")]
    assert sorted(p.title for p in from_export) == ["Listening to people who use our services",
                                                    "Our new approach to direct payments"]
    lines = (FILES / "council-blog.wordpress.xml").read_text(encoding="utf-8").split("\n")
    for post in from_export:  # each post's provenance is its <item>'s lines
        (prov,) = post.provenance
        assert lines[prov.start_line - 1].strip() == "<item>" and lines[prov.end_line - 1].strip() == "</item>"


def test_list_items_are_claims_of_their_own_without_markup(loaded):
    items = [c.text for c in claims.chunk_post(loaded["discharge-delays"]) if c.kind == "list-item"]
    assert items == ["Home care agencies cannot recruit enough staff to pick up new packages.",
                     "Assessments wait for a social worker who covers three wards at once.",
                     "Families are asked to choose a care home within days, often without clear "
                     "information on fees."]


def test_a_claim_keeps_its_links(loaded):
    post = loaded["discharge-delays"]
    claim = next(c for c in claims.chunk_post(post) if "clear information" in c.text)
    assert [link.url for link in post.links_in(claim.start, claim.end)] == ["https://www.example.org.uk/fees-guide"]


# --------------------------------------------------------------------------- exact offsets

def _plain(source: str) -> list[str]:
    """The words of a Markdown slice as a reader sees them (link targets, markup and entities out)."""
    source = re.sub(r"\](?:\([^)]*\))?", "", source)
    return re.findall(r"[\w’'£.,;:&%-]+", html.unescape(source).replace("\\", ""))


def _words(text: str) -> list[str]:
    return re.findall(r"[\w’'£.,;:&%-]+", text)


def _check_exact(post, raw: str) -> int:
    checked = 0
    for origin in post.origins:
        piece, source = post.body[origin.start:origin.end], raw[origin.file_start:origin.file_end]
        if origin.end - origin.start == origin.file_end - origin.file_start:
            assert piece == source
        else:  # an entity or an escape stands for its character
            assert html.unescape(source) == piece or source == "\\" + piece
    for claim in claims.chunk_post(post):
        assert post.body[claim.start:claim.end] == claim.text
        start, end = post.file_span(claim.start, claim.end)
        source = raw[start:end]
        assert source[:1] == claim.text[:1] and source[-1:] == claim.text[-1:]
        assert [w.strip("*_") for w in _plain(source) if w.strip("*_")] == _words(claim.text)
        checked += 1
    return checked


@pytest.mark.parametrize("name", sorted(p.name for p in FILES.glob("*.md")))
def test_markdown_claims_map_exactly_into_the_file(loaded, name):
    raw = (FILES / name).read_text(encoding="utf-8")
    post = next(p for p in loaded.values() if p.path.endswith(name))
    assert _check_exact(post, raw) > 3


def test_offsets_stay_exact_in_a_file_with_a_bom_and_crlf_line_ends(tmp_path):
    text = (FILES / "discharge-delays.md").read_text(encoding="utf-8")
    path = tmp_path / "windows-post.md"
    path.write_bytes(("\ufeff" + text.replace("\n", "\r\n")).encode("utf-8"))
    (post,) = read_file(path)
    raw = path.read_bytes().decode("utf-8")
    assert _check_exact(post, raw) > 3


def test_markdown_emphasis_entities_and_images_stay_out_of_claim_text(loaded):
    texts = [c.text for p in loaded.values() for c in claims.chunk_post(p)]
    assert not [t for t in texts if re.search(r"\*\*|\]\(|&amp;|!\[|<p>|</", t)]
    assert any("health & care" in t for t in texts)


# --------------------------------------------------------------------------- debris

def test_planted_debris_is_in_the_files():
    # The check below can fail only if the debris is really there to leak.
    sources = "\n".join(p.read_text(encoding="utf-8") for p in [*FILES.iterdir(), DUMP])
    missing = [d for d in EXPECTED["debris"] if d not in sources]
    assert missing == []


def test_no_debris_becomes_a_claim(built):
    corpus_dir, _, _ = built
    posts, failures = corpus.load_posts(corpus_dir / "posts")
    assert failures == []
    texts = [c.text for p in posts for c in claims.chunk_post(p)]
    leaked = sorted({d for d in EXPECTED["debris"] for t in texts if d in t})
    assert leaked == []


def test_no_post_is_empty_and_every_post_has_claims(built):
    corpus_dir, _, _ = built
    posts, _ = corpus.load_posts(corpus_dir / "posts")
    assert [p.id for p in posts if not p.body.strip() or not claims.chunk_post(p)] == []


# --------------------------------------------------------------------------- bad files

BAD_FILES = {
    "bad-date.md": (4, "'date'", "date: 2019-03-14"),
    "bad-author.md": (3, "'author'", "author: Anna Smith"),
    "bad-id.md": (2, "not a slug", "id: not-a-slug"),
    "broken-feed.rss": (8, "not a well-formed RSS or Atom feed", "fix the XML at that line"),
    "broken-export.xml": (8, "not well-formed XML", "export from WordPress again"),
    "menu-only.html": (1, "no article text", "copy its text into a .md file"),
}


def test_bad_files_are_reported_with_file_line_and_fix_while_the_rest_builds(tmp_path):
    corpus_dir = make_corpus(tmp_path, *BAD.iterdir())
    result = run(["build", "--json", "--data", str(tmp_path / "data")], env={"KG_CORPUS_DIR": str(corpus_dir)})
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["counts"]["posts"] == len(EXPECTED["posts"])
    failed = {Path(f["item"]).name: f["message"] for f in summary["failures"] if f["step"] == "corpus"}
    assert set(failed) == set(BAD_FILES)
    for name, (line, problem, fix) in BAD_FILES.items():
        message = failed[name]
        assert f"{corpus_dir / 'posts' / name}:{line}:" in message, message
        assert problem in message and fix in message, message


# --------------------------------------------------------------------------- dumps

def test_kg_corpus_import_dry_run_lists_the_boundaries_to_review(tmp_path):
    empty = tmp_path / "no-overrides.yaml"
    empty.write_text("titles: []\n", encoding="utf-8")
    posts_dir = tmp_path / "posts"
    result = run(["corpus", "import", "--dry-run", "--overrides", str(empty), "--posts", str(posts_dir), str(DUMP)])
    assert result.exit_code == 0, result.output
    want = EXPECTED["dumps"][DUMP.name]
    listed = re.findall(r"^  (\S+)  \[", result.output, re.MULTILINE)
    assert listed == [corpus.slugify(t) for t in want["posts"]]
    for line, why in want["review"].items():
        assert re.search(rf"^  {DUMP.name}:{line}: .*{why}", result.output, re.MULTILINE), result.output
    assert not posts_dir.exists()  # a dry run writes nothing


def test_a_title_printed_twice_makes_one_post_not_an_empty_one():
    result = corpus.import_dumps([DUMP], corpus.SplitOverrides())
    assert [p.body for p in result.posts if not p.body.strip()] == []
    fair = next(p for p in result.posts if p.title == "A fair deal for care workers")
    assert fair.provenance[0].start_line == 11
    # The repeat stays in the body (a body is the dump's own lines), never in a claim.
    assert fair.body.startswith("A fair deal for care workers\n")
    assert "A fair deal for care workers" not in [c.text for c in claims.chunk_post(fair)]


def test_a_persons_decision_in_the_overrides_file_splits_the_uncued_boundary(tmp_path):
    want = EXPECTED["dumps"][DUMP.name]["decided"]
    overrides = tmp_path / "split-overrides.yaml"
    overrides.write_text(yaml.safe_dump({"titles": want["titles"]}), encoding="utf-8")
    result = corpus.import_dumps([DUMP], corpus.load_overrides(overrides))
    assert [p.title for p in result.posts] == want["posts"]
    assert not [r for r in result.review if r.text in want["titles"]]


def test_a_byline_or_a_date_under_a_line_marks_a_post_start():
    lines = ["First post", "", "Some text of the first post ends here.", "",
             "Second post about budgets", "", "By Jane Doe", "", "Text of the second post."]
    occurrences = corpus.split_dumps({"d.txt": lines}, corpus.SplitOverrides())
    assert [o.title for o in occurrences] == ["First post", "Second post about budgets"]
    lines[6] = "14 March 2022"
    occurrences = corpus.split_dumps({"d.txt": lines}, corpus.SplitOverrides())
    assert [o.title for o in occurrences] == ["First post", "Second post about budgets"]
    lines[6] = "Text that is ordinary prose."
    occurrences = corpus.split_dumps({"d.txt": lines}, corpus.SplitOverrides())
    assert [o.title for o in occurrences] == ["First post"]


def test_the_seed_posts_are_read_as_the_scraped_text_they_are():
    posts, failures = corpus.load_posts(ROOT / "corpus" / "posts")
    assert failures == [] and len(posts) == 37
    assert {p.source_format for p in posts} == {"text"}
    assert all(not p.blocks and not p.links and not p.origins for p in posts)


@pytest.mark.parametrize("lines, titles", [
    (["Title one", "", "Title one", "", "Text."], ["Title one"]),
    (["Title one", "", "Text.", "", "Share this:", "", "Blog", "", "Title two", "", "More text."],
     ["Title one", "Title two"]),
    (["Title one", "", "Text.", "", "Share this:", "", "Title two"], ["Title one"]),
])
def test_no_occurrence_is_ever_empty(lines, titles):
    occurrences = corpus.split_dumps({"d.txt": lines}, corpus.SplitOverrides(titles=frozenset({"Blog", "Title two"})))
    assert [o.title for o in occurrences] == titles
    assert all(o.body.strip() for o in occurrences)


def test_a_post_read_from_markup_survives_the_build_cache(loaded):
    from kg.build import PostData

    post = loaded["discharge-delays"]
    again = PostData.from_json(json.loads(json.dumps(PostData(post=post).to_json()))).post
    assert again == post
    assert again.file_span(0, 10) == post.file_span(0, 10) is not None


from hypothesis import HealthCheck, given, settings as hsettings, strategies as st  # noqa: E402

_PIECES = st.sampled_from(["# ", "## ", "- ", "1. ", "> ", "*", "**", "_", "`", "[", "]", "(", ")",
                           "](https://x.org/a)", "![alt](i.png)", "&amp;", "&pound;", "\\*", "\n", "\n\n",
                           "    ", "Word", "care", " ", ".", "£5", "“q”", "<b>", "---", "===", "\r\n"])


@hsettings(max_examples=150, deadline=None, derandomize=True, database=None,
           suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_any_markdown_reads_with_exact_offsets(text):
    from kg.posts import markdown

    raw = "---\ntitle: T\n---\n" + text
    (post,) = markdown.parse(raw, "fuzz.md")
    for block in post.blocks:
        assert 0 <= block.start < block.end <= len(post.body)
    for link in post.links:
        assert 0 <= link.start < link.end <= len(post.body)
    for origin in post.origins:
        piece, source = post.body[origin.start:origin.end], raw[origin.file_start:origin.file_end]
        if origin.end - origin.start == origin.file_end - origin.file_start:
            assert piece == source
    segments = claims.segment_post(post)
    assert all(post.body[s.start:s.end] == s.text for s in segments)


def test_the_graph_of_posts_in_every_format_conforms_to_the_shapes(built):
    import pyoxigraph as ox
    import pyshacl
    from rdflib import Graph

    from kg.graph import open_store
    from kg.settings import load_settings

    _, env, result = built
    assert result.exit_code == 0, result.output
    settings = load_settings(env=env)
    text = open_store(settings).dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph()).decode()
    shapes = Graph().parse(settings.ontology_dir / "shapes.ttl")
    conforms, _, report = pyshacl.validate(Graph().parse(data=text, format="nt"), shacl_graph=shapes, advanced=True)
    assert conforms, report
