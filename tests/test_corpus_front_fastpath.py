"""The front matter fast path reads exactly what YAML reads, and leaves everything else to YAML."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kg.corpus import _YAML_LOADER, _canonical_front, parse_post, render_post
from kg.model import Post, Provenance

ROOT = Path(__file__).resolve().parents[1]


def front(text: str) -> str:
    end = text.find("\n---\n", 3)
    return text[4:end + 1]


def test_every_seed_post_reads_the_same_with_and_without_yaml():
    files = sorted((ROOT / "corpus" / "posts").glob("*.md"))
    assert len(files) >= 30
    fast = 0
    for path in files:
        text = path.read_text(encoding="utf-8")
        meta = _canonical_front(front(text))
        if meta is not None:
            fast += 1
            assert meta == yaml.load(front(text), Loader=_YAML_LOADER), path
    assert fast >= len(files) // 2  # the fast path is taken for the usual file (dump names start with digits)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(title=st.text(min_size=1, max_size=60).filter(lambda t: t.strip()),
       dump=st.text(min_size=1, max_size=20).filter(lambda t: t.strip()),
       lines=st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), excerpt=st.booleans())
def test_rendered_front_matter_reads_as_yaml_reads_it(title, dump, lines, excerpt):
    post = Post(id="some-post", title=title.strip(), body="Text.", excerpt=excerpt,
                provenance=(Provenance(dump, *lines),))
    text = render_post(post)
    meta = _canonical_front(front(text))
    if meta is not None:
        assert meta == yaml.load(front(text), Loader=_YAML_LOADER)
    assert parse_post(text).title == post.title


def test_yaml_words_and_odd_layouts_go_through_yaml():
    for value in ("yes", "No", "null", "ON", "Off", "true", "2011", "0x1F", "1_000", "2011-05-01", "1.5", "1e5"):
        text = f"id: a\ntitle: {value}\nkind: article\nexcerpt: false\nprovenance:\n- dump: {value}\n  lines: [1, 2]\n"
        meta = yaml.load(text, Loader=_YAML_LOADER)
        fast = _canonical_front(text)
        assert fast == meta if isinstance(meta["title"], str) else fast is None, value
    assert _canonical_front("title: A\nid: a\nkind: article\nexcerpt: false\nprovenance:\n"
                            "- dump: d.txt\n  lines: [1, 2]\n") is None  # another order
    assert _canonical_front("id: a\ntitle: A # note\nkind: article\nexcerpt: false\nprovenance:\n"
                            "- dump: d.txt\n  lines: [1, 2]\n") is None  # a comment
    assert _canonical_front("id: a\ntitle: A\nkind: article\nexcerpt: false\nprovenance:\n"
                            "- dump: d.txt\n  lines: [010, 2]\n") is None  # YAML 1.1 octal
