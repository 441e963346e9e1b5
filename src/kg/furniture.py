"""Page furniture: the lines of a web page or a scrape that are not the author's prose.

Photo credits and captions, share buttons and "Read more" links, cookie and newsletter
notices, bylines and author boxes, word counts, dates standing alone, labels such as "Tags:".
One judgement for every step that needs it: the dump splitter reads a byline or a date after a
line as a sign that a post starts there, the claim chunker keeps such lines out of claims.
"""

from __future__ import annotations

import re

MAX_LABEL_WORDS = 12

CAPTION_PREFIX = re.compile(
    r"(?:(?:image|photo|picture|graphic|illustration|chart)s?\s+(?:via|by|from|courtesy)\b"
    r"|(?:source|credit|image|photo|picture|caption)s?\s*:"
    r"|click\b.*\benlarge\b)",
    re.IGNORECASE,
)
_CREDIT_WORD = (
    r"(?:photo(?:graph)?s?|images?|pictures?|illustrations?|graphics?|credits?|(?:photo|image|picture) credits?)"
)
# "Photograph: Jane Doe/PA", "Image: Getty", "© Example Trust 2019", "Figure 2: Spending by region"
_CREDIT = re.compile(rf"(?:{_CREDIT_WORD}\s*[:|]|©|\(c\)\s*(?:19|20)\d\d|copyright\b)", re.IGNORECASE)
# A caption that ends in its credit: "Care workers in Leeds. Photograph: Jane Doe/PA".
# (Capitalised, as pages print it: "two pictures: one from 2010" is prose.)
_TRAILING_CREDIT = re.compile(
    r"(?:^|[.!?)\]”’\s])(?:(?:Photo(?:graph)?|Image|Picture|Illustration|Credit)s?"
    r"(?: credits?)?\s*:|©)[^.!?]{1,80}$"
)
_FIGURE_LABEL = re.compile(
    r"(?:figure|fig\.|chart|table|graph|map|box|infographic)\s*\d+[a-z]?\s*[:.–—-]", re.IGNORECASE
)
#: At most this many words in a line of site chrome (share buttons, cookie notices, bylines).
MAX_CHROME_WORDS = 30
# A call to action of the site, not the author: "Read more", "Share this", "Find out more >".
_ACTION = re.compile(
    r"(?:read(?:\s+(?:more|the\s+full|full|on|our|the\s+(?:report|blog|briefing|article|story|post))|\s*$)"
    r"|continue\s+reading|share(?=\s*(?:this|on|via|article|post|page|:|$))|tweet(?:\s+this)?|email\s+(?:this|us)"
    r"|print(?:\s+this)?|subscribe|sign\s+up|download\s+(?:the|our|full|pdf)|click|skip\s+to|back\s+to"
    r"|see\s+(?:all|more)|find\s+out\s+more|follow\s+us|log\s+in|leave\s+a\s+(?:comment|reply))\b",
    re.IGNORECASE,
)
# A label the page prints over the post: "Tags: …", "Published: 23/09/2019", "Posted in Blogs".
_META_LABEL = re.compile(
    r"(?:tags?|categor(?:y|ies)|topics?|keywords|filed\s+under|posted\s+(?:in|on|by)|published(?:\s+on)?|"
    r"updated|last\s+(?:updated|modified)|share(?:\s+this)?(?:\s+\w+)?|related(?:\s+\w+)?|reading\s+time|"
    r"this\s+content\s+relates\s+to\b[^:]*)\s*:",
    re.IGNORECASE,
)
# "Posted in News", "Filed under Adult social care, Carers" (no colon).
_FILED = re.compile(r"(?:posted|filed)\s+(?:in|under)\s+[\w&’',\- ]{1,60}", re.IGNORECASE)
# Words of the site's machinery, never of a policy argument about care.
_CHROME = re.compile(
    r"\b(?:(?:we|this\s+(?:web)?site)\s+uses?\s+cookies|cookies?\s+(?:settings|policy|preferences|notice)"
    r"|accept\s+(?:all\s+)?cookies|(?:sign\s+up|subscribe)\s+(?:to|for)\s+(?:our|the|my)\b[^.]{0,30}?"
    r"\b(?:newsletter|bulletin|mailing\s+list|e-?news|updates)|our\s+(?:weekly\s+|monthly\s+)?newsletter"
    r"|privacy\s+(?:policy|notice|settings)|unsubscribe|akismet|reduce\s+spam|enter\s+your\s+(?:comment|name|email)"
    r"|all\s+rights\s+reserved|registered\s+charity(?:\s+(?:number|no))?|enable\s+javascript)\b",
    re.IGNORECASE,
)
_WORD_COUNT = re.compile(
    r"\(\s*(?:c\.\s*|approx\.?\s*)?\d[\d,]*\s+words\s*\)|^\s*\d[\d,]*\s+words\s*$"
    r"|^\s*(?:words|word\s+count|length)\s*:\s*(?:c\.\s*)?\d[\d,]*(?:\s+words)?\s*$",
    re.IGNORECASE,
)
# The heading of an author box, alone or with the biography after it: "About the author: ...".
_ABOUT_AUTHOR = re.compile(r"about\s+the\s+authors?\b(?:\s*$|\s*[:.–—-])", re.IGNORECASE)
# A comment counter: "Comments (4)", "3 comments", "No comments yet".
_COMMENTS = re.compile(r"(?:(?:\d+|no|one)\s+comments?(?:\s+yet)?|comments?\s*\(\d+\)|comments?)\s*$", re.IGNORECASE)
# A run of labels the page prints in one line, separated by bars: "Posted in Policy | Tagged care | 3 comments".
_BAR = re.compile(r"\s+\|\s+")
_TAGGED = re.compile(r"(?:tagged|tags)\s+(?:with\s+)?[\w&’',\- ]{1,80}", re.IGNORECASE)
# Other media of the same post: "Listen to the podcast version of this post (12 minutes)".
_MEDIA = re.compile(
    r"(?:listen\s+to|watch|download)\s+(?:the|our|this)\s+(?:\w+\s+){0,3}"
    r"(?:podcast|audio|video|recording|version|slides|transcript)\b",
    re.IGNORECASE,
)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
# A line that is nothing but a date: "13 October, 2025", "23/09/2019", "March 2, 2019".
_DATE_LINE = re.compile(
    rf"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+)?(?:\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+\d{{4}}"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|\d{{1,2}}/\d{{1,2}}/\d{{2,4}}|\d{{4}}-\d\d-\d\d)",
    re.IGNORECASE,
)
_NAME = r"(?:[A-Z][a-z’'\-]+|[A-Z]\.)(?:\s+(?:[A-Z][a-z’'\-]+|[A-Z]\.|de|van|von|der|le|la)){1,3}"
# "By Jane Doe", "Written by Jane Doe and Raj Patel, Senior Fellow", "Author: Jane Doe".
_BYLINE = re.compile(
    rf"(?:by|written\s+by|posted\s+by|authors?\s*:)\s+{_NAME}(?:\s*(?:,|and|&)\s*{_NAME})*"
    r"(?:\s*[,|–—-]\s*[^.!?]{0,60})?",
    re.IGNORECASE,
)
# A name glued to its biography: "Jane DoeJane is a senior fellow" (the page's author box).
_GLUED_BIO = re.compile(
    rf"(?P<name>{_NAME})(?P<next>[A-Z][a-z’']+)(?=\s+(?:(?:is|was)\s+(?:a|an|the|our|head|director|chief|"
    r"senior|professor|programme|policy)|has\s+been|leads|works|joined|heads|writes)\b)"
)
_BIO_VERB = re.compile(r"\s+(?:is|was|has\s+been|leads|works|joined|heads|writes)\b")


def debris_kind(text: str, author: str | None = None) -> str | None:
    """Say whether a whole line is page furniture rather than the author's prose.

    Returns "caption" for what belongs to a picture or chart (a credit, a figure's label, a
    caption ending in its credit), "debris" for the site's machinery (a share or "Read more"
    line, a cookie or newsletter notice, a byline, a word count, a date alone, a label such as
    "Tags:"), and None for prose. The rules go by a line's shape, never by its words alone: a
    sentence that mentions a photograph or a newsletter stays a claim.
    """
    text = text.strip()
    words = text.split()
    if not words:
        return None
    n = len(words)
    if n <= MAX_LABEL_WORDS and (CAPTION_PREFIX.match(text) or _CREDIT.match(text) or _FIGURE_LABEL.match(text)):
        return "caption"
    if n <= 30 and _FIGURE_LABEL.match(text) and text[-1] not in ".!?":
        return "caption"  # a chart's or table's title, however long: it is a label, not a sentence
    if n <= 40 and _TRAILING_CREDIT.search(text):
        return "caption"
    if _WORD_COUNT.fullmatch(text) or (n <= 4 and _WORD_COUNT.search(text)):
        return "debris"
    if n <= 6 and _DATE_LINE.fullmatch(text.rstrip(".")):
        return "debris"
    if n <= 16 and opens_post(text):
        return "debris"
    if n <= 8 and _FILED.fullmatch(text.rstrip(".")):
        return "debris"
    if n <= 40 and _ABOUT_AUTHOR.match(text):
        return "debris"
    if n <= 4 and _COMMENTS.fullmatch(text):
        return "debris"
    if n <= 12 and _MEDIA.match(text) and text[-1] not in ".!?":
        return "debris"
    parts = _BAR.split(text)
    if (
        len(parts) > 1
        and n <= MAX_CHROME_WORDS
        and all(
            _FILED.fullmatch(part)
            or _TAGGED.fullmatch(part)
            or _COMMENTS.fullmatch(part)
            or debris_kind(part) is not None
            for part in parts
        )
    ):
        return "debris"
    if n <= MAX_CHROME_WORDS and _META_LABEL.match(text):
        return "debris"
    if n <= 10 and _ACTION.match(text) and (text[-1] not in ".!?" or text.endswith(("...", "…"))):
        return "debris"
    if n <= MAX_CHROME_WORDS and _CHROME.search(text):
        return "debris"
    if n <= 16 and _BYLINE.fullmatch(text.rstrip(".")):
        return "debris"
    glued = _GLUED_BIO.match(text)
    if glued and (glued["next"] == glued["name"].split()[0] or len(glued["name"].split()) >= 2):
        return "debris"
    if author and n <= 80:
        # The author box at the end: "Jane Doe is Director of Policy at the Example Trust."
        for name in re.split(r",\s*|\s+and\s+|\s*&\s*", author):
            name = name.strip()
            if (
                len(name.split()) >= 2
                and text.startswith(name)
                and (_BIO_VERB.match(text, len(name)) or text[len(name) : len(name) + 1].isupper())
            ):
                return "debris"
    return None


#: Words naming a job, as an author box gives one: "... is a policy officer at ...".
_ROLE = (
    r"(?:officer|director|fellow|researcher|manager|executive|lead|head|professor|lecturer|analyst|"
    r"consultant|advis[eo]r|editor|chair|trustee|founder|associate|correspondent|student|member|"
    r"worker|practitioner|commissioner|economist|campaigner|coordinator|partner)s?"
)
_CLOSING_BIO = re.compile(
    rf"{_NAME}\s+(?:is|was|works\s+as)\s+(?:a|an|the)\s+(?:[\w’'\-]+\s+){{0,4}}{_ROLE}"
    r"\b\s+(?:at|of|for|with|in)\b[^.!?]{1,120}[.]?"
)


def closing_biography(text: str) -> bool:
    """Whether the last line of a post is its author's biography: a name, "is a", a job, a place.

    Only the caller knows the line is the last: in the middle of a post the same shape is prose
    about a person ("Sarah Wollaston is the chair of the committee that ..."), and stays a claim.
    """
    text = text.strip()
    return len(text.split()) <= 40 and bool(_CLOSING_BIO.fullmatch(text))


def opens_post(text: str) -> bool:
    """Whether a line is what a page prints right under a post's title: a byline or a date."""
    text = text.strip().rstrip(".")
    if not text or len(text.split()) > 16:
        return False
    if _DATE_LINE.fullmatch(text) or _BYLINE.fullmatch(text):
        return True
    m = re.fullmatch(r"(?:posted|published|updated)(?:\s+on)?\s*:?\s*(.+)", text, re.IGNORECASE)
    return bool(m and (_DATE_LINE.match(m.group(1)) or _BYLINE.match(m.group(1))))


def closes_post(text: str) -> bool:
    """Whether a line is what a page prints at the end of a post: share, tags, "Read more", a
    sign-off byline. (A date alone belongs under the title above it, so it closes nothing.)"""
    if debris_kind(text) != "debris":
        return False
    stripped = text.strip().rstrip(".")
    return not _DATE_LINE.fullmatch(stripped) and not (opens_post(stripped) and not _BYLINE.fullmatch(stripped))


def is_furniture(text: str) -> bool:
    """Whether a line is page furniture of any kind (never a post's title)."""
    return debris_kind(text) is not None
