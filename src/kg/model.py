"""Plain data classes that flow between the steps of the pipeline; no I/O here.

corpus -> Post; claims -> Claim; citations -> Citation; references -> Reference,
Organisation; concepts -> Concept; build -> Corpus (everything, plus the failures).
Every object carries its provenance: where it came from and its exact span.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Provenance:
    """Where a post was found: a dump file and an inclusive, 1-based line range."""

    dump: str  # the dump's file name as received, e.g. "000_23ba44043579b2fd.txt"
    start_line: int  # the post's title line
    end_line: int  # the post's last line (inclusive)


@dataclass(frozen=True)
class Block:
    """A span of a post body whose role the source's markup states: a heading, a list item.

    Posts read from Markdown, HTML or a feed know their structure; a scraped dump does not,
    so its posts have no blocks and the claim chunker reads the structure off the text.
    """

    kind: str  # "heading" | "paragraph" | "list-item" | "quote" | "code" | "caption"
    start: int
    end: int


@dataclass(frozen=True)
class Link:
    """A hyperlink in a post: the span of its text in the body and where it points."""

    start: int
    end: int
    url: str
    title: str | None = None


@dataclass(frozen=True)
class Origin:
    """Where a run of body characters stands in the source file: body[start:end] came from
    file[file_start:file_end] (the same text, or the text an entity or escape stands for)."""

    start: int
    end: int
    file_start: int
    file_end: int


def _tuple_of(cls, values) -> tuple:
    # Posts come back from the build cache as JSON: lists of dicts become model objects again.
    return tuple(v if isinstance(v, cls) else cls(**v) for v in values or ())


@dataclass
class Post:
    """One unique blog post: its title and body text, and every place it was found.

    A scraped post's body is the dump's text verbatim. A post read from markup (Markdown,
    HTML, a feed) has the text a reader sees as its body, with the markup left out; ``blocks``
    say which spans are headings and list items, ``links`` where its links point, and
    ``origins`` map body offsets back to exact offsets in the file (see ``file_span``).
    """

    id: str  # readable slug, e.g. "payment-by-results-in-mental-health-introduction"
    title: str
    body: str  # verbatim dump lines (boilerplate lines removed), joined by "\n"
    provenance: tuple[Provenance, ...] = ()
    excerpt: bool = False  # the scrape cut the post off ("Continue reading")
    kind: str = "article"  # "article" | "bibliography" (a post that lists references)
    path: str | None = None  # the corpus/posts file it was read from, if any
    author: str | None = None  # as the source gives it: "Anna Smith", "Anna Smith and Raj Patel"
    date: str | None = None  # ISO 8601 date of publication, "2019-03-14"
    url: str | None = None  # where the post was published
    source_format: str = "text"  # the reader that read it: "text", "markdown", "html", "feed", "wxr"
    blocks: tuple[Block, ...] = ()
    links: tuple[Link, ...] = ()
    origins: tuple[Origin, ...] = ()

    def __post_init__(self) -> None:
        self.provenance = _tuple_of(Provenance, self.provenance)
        self.blocks = _tuple_of(Block, self.blocks)
        self.links = _tuple_of(Link, self.links)
        self.origins = _tuple_of(Origin, self.origins)

    def file_span(self, start: int, end: int) -> tuple[int, int] | None:
        """Return the span of the source file that body[start:end] was read from (None if unknown)."""
        if not self.origins:
            return None
        first = next((o for o in self.origins if o.end > start), None)
        last = next((o for o in reversed(self.origins) if o.start < end), None)
        if first is None or last is None:
            return None

        def at(o: Origin, offset: int) -> int:
            # Inside a verbatim run offsets correspond one to one; an entity maps as a whole.
            if o.end - o.start == o.file_end - o.file_start:
                return o.file_start + (offset - o.start)
            return o.file_start if offset <= o.start else o.file_end

        return at(first, max(start, first.start)), at(last, min(end, last.end))

    def links_in(self, start: int, end: int) -> tuple[Link, ...]:
        """Return the links whose text lies within body[start:end] (a claim's links)."""
        return tuple(link for link in self.links if start <= link.start and link.end <= end)


@dataclass(frozen=True)
class Claim:
    """A sentence or list item of a post; ``post.body[start:end] == text`` always."""

    id: str  # stable: depends only on the post id and the claim's own text
    post_id: str
    ordinal: int  # 1-based position within the post
    start: int
    end: int
    text: str
    section: str | None = None  # the heading the claim stands under, if any
    kind: str = "sentence"  # "sentence" | "list-item"
    is_question: bool = False


@dataclass(frozen=True)
class Citation:
    """One author-year citation inside a claim, e.g. ``DH, 2011b:6``.

    Several citations may share one parenthesis ``(DH, 2011b:6; DH, 2013:5)``: they share
    ``group_id`` and ``group_raw``. ``post.body[start:end] == raw``.
    """

    id: str  # stable: claim id + position of the citation within the claim
    claim_id: str
    post_id: str
    raw: str  # this citation as written: "DH, 2011b:6"
    start: int
    end: int
    group_id: str
    group_raw: str  # the whole parenthesis as written: "(DH, 2011b:6; DH, 2013:5)"
    author: str  # as written: "DH", "King’s Fund"
    year: str  # with its suffix: "2011b"
    locator: str | None = None  # "6", "vi", "18-19"
    reference_key: str | None = None  # set when resolved
    status: str = "unresolved"  # "resolved" | "unresolved"
    reason: str | None = None  # why it is unresolved
    function: str = "citesForInformation"  # a CiTO property local name
    form: str = "parenthetical"  # "parenthetical" | "narrative" | "note" (a [1] marker and its note)
    note: str | None = None  # the note's text, for a note citation


@dataclass(frozen=True)
class UnreadableCitation:
    """A parenthesis that looks like a citation (a name and a year) but does not read as one."""

    id: str  # claim id + "-u" + position
    claim_id: str
    post_id: str
    text: str  # the parenthesis as written; post.body[start:end] == text
    start: int
    end: int
    reason: str  # what the grammar could not read


@dataclass
class Reference:
    """One entry of the reference library (corpus/references.bib)."""

    key: str  # e.g. "DH2011b"
    entry_type: str  # BibTeX entry type, e.g. "report"
    fields: dict[str, str] = field(default_factory=dict)  # BibTeX field -> value, as stored
    start_line: int | None = None  # where it stands in the .bib file

    @property
    def title(self) -> str:
        return self.fields.get("title", "")

    @property
    def year(self) -> str:
        return self.fields.get("year", "")


@dataclass(frozen=True)
class Organisation:
    """A corporate author, once, with every form the corpus writes it in."""

    id: str  # e.g. "dh"
    name: str  # "Department of Health"
    acronym: str | None = None  # "DH"
    alt_names: tuple[str, ...] = ()  # every other form: "The King’s Fund", "Kings Fund", ...


@dataclass(frozen=True)
class Concept:
    """A SKOS concept of the field's scheme."""

    id: str  # local name, e.g. "payment-by-results"
    pref_label: str
    alt_labels: tuple[str, ...] = ()
    hidden_labels: tuple[str, ...] = ()
    definition: str = ""
    scope_note: str = ""  # skos:scopeNote: what the concept covers and what it leaves to others
    broader: tuple[str, ...] = ()  # concept ids
    narrower: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    # Words naming the concept only in a text already about its top concept ("cluster" for PbR
    # care clusters); kg:contextLabel in ontology/concepts.ttl.
    context_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Failure:
    """One item a step could not handle; the build goes on and reports it."""

    step: str  # "corpus", "claims", "references", ...
    item: str  # the file path or id that failed
    message: str  # what is wrong and how to fix it


@dataclass
class Corpus:
    """Everything the pipeline derived from corpus/, in memory."""

    posts: list[Post] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    unreadable: list[UnreadableCitation] = field(default_factory=list)  # citation-like text that did not read
    references: dict[str, Reference] = field(default_factory=dict)
    organisations: list[Organisation] = field(default_factory=list)
    concepts: dict[str, Concept] = field(default_factory=dict)
    subjects: dict[str, tuple[str, ...]] = field(default_factory=dict)  # claim id -> concept ids
    bibliography: dict[str, tuple[str, ...]] = field(default_factory=dict)  # post id -> ref keys
    failures: list[Failure] = field(default_factory=list)

    def by_post(self) -> tuple[dict[str, list[Claim]], dict[str, list[Citation]]]:
        """Each post's claims and citations, by post id, in corpus order."""
        claims: dict[str, list[Claim]] = defaultdict(list)  # a post with none reads as []
        citations: dict[str, list[Citation]] = defaultdict(list)
        for claim in self.claims:
            claims[claim.post_id].append(claim)
        for cit in self.citations:
            citations[cit.post_id].append(cit)
        return claims, citations
