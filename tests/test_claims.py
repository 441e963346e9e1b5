"""Tests for the claim chunker (src/kg/claims.py) on the real corpus."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kg.claims import (ClaimOverrides, check_overrides, chunk_post, chunk_posts, claim_id,
                       glued_alt_text, is_question, load_overrides, segment_post)
from kg.errors import ClaimsError
from kg.model import Post

ROOT = Path(__file__).resolve().parents[1]
OVERRIDES_FILE = ROOT / "corpus" / "claims-overrides.yaml"


@pytest.fixture(scope="module")
def overrides() -> ClaimOverrides:
    return load_overrides(OVERRIDES_FILE)


@pytest.fixture(scope="module")
def chunked(posts, overrides) -> dict[str, list]:
    return {pid: chunk_post(post, overrides) for pid, post in posts.items()}


@pytest.fixture(scope="module")
def segmented(posts, overrides) -> dict[str, list]:
    return {pid: segment_post(post, overrides) for pid, post in posts.items()}


def skipped(segmented, kind: str) -> Counter:
    return Counter(" ".join(s.text.split()) for segs in segmented.values() for s in segs if s.kind == kind)


def assert_partition(body: str, segments) -> None:
    """Segments are in order, never overlap, match the body, and cover every non-space character."""
    covered = [False] * len(body)
    last = 0
    for segment in segments:
        assert last <= segment.start < segment.end <= len(body)
        assert body[segment.start:segment.end] == segment.text
        assert segment.text == segment.text.strip()
        for i in range(segment.start, segment.end):
            covered[i] = True
        last = segment.end
    lost = [body[i] for i in range(len(body)) if not covered[i] and not body[i].isspace()]
    assert lost == []


# ----------------------------------------------------------------------------- whole corpus

def test_every_claim_reproduces_its_span(posts, chunked):
    assert sum(map(len, chunked.values())) > 600
    for pid, claims in chunked.items():
        body = posts[pid].body
        assert [c.ordinal for c in claims] == list(range(1, len(claims) + 1))
        assert len({c.id for c in claims}) == len(claims)
        for claim in claims:
            assert claim.post_id == pid
            assert body[claim.start:claim.end] == claim.text
            assert claim.text and claim.text == claim.text.strip()
            assert claim.id.split("-")[0] == claim_id(pid, claim.text)
        assert all(a.end <= b.start for a, b in zip(claims, claims[1:]))


def test_nothing_is_lost_outside_skipped_parts(posts, segmented):
    for pid, segments in segmented.items():
        assert_partition(posts[pid].body, segments)


def test_glued_alt_text_is_cut_off_exactly_where_the_corpus_has_it(segmented, chunked):
    assert skipped(segmented, "debris") == Counter({
        "mirror maze": 1, "IPC": 3, "Peronalisation quadrants": 1, "ASC satisfaction": 1,
        "down graph": 1, "TTC Supporting Logo Red-1": 1, "Permission to Dream": 1,
        "Commissioning models in the NHS": 1, "IPC_commissioning_cycle": 1, "Commissioning levels": 1,
        "Continue reading": 2,
    })
    starts = {c.text.split()[0] for claims in chunked.values() for c in claims}
    assert {"Here’s", "My", "The", "Spending", "Today", "Below", "There", "As", "Commissioning"} <= starts
    # Once the alt text is gone the detector finds nothing more: it does not fire on ordinary prose.
    assert [c.text for claims in chunked.values() for c in claims if glued_alt_text(c.text)] == []


@pytest.mark.parametrize("text", [
    "PbR in mental health is still a work in progress.",
    "HoNOS scores are low.",
    "NHSEngland has said it will act.",
    "LinkedIn group members disagree.",
    "The LinkedIn group called “The Personalisation Group” debated it.",
    "iPhone apps help people manage their health.",
    "McDonald’s sponsors the event.",
    "The YouTube channel has two videos.",
    "PowerPoint slides were shared.",
    "GPs will oversee social care.",
    "CQC’s State of Care report is out.",
    "£1.25billion for children’s mental health.",
    "#SCIEroundtable on community-led social care.",
])
def test_glued_alt_text_detector_leaves_ordinary_words_alone(text):
    assert glued_alt_text(text) == 0
    claims = chunk_post(Post(id="t", title="t", body=text))
    assert [c.text for c in claims] == [text]


@pytest.mark.parametrize("text, alt", [
    ("mirror mazeHere’s a post I’ve written.", "mirror maze"),
    ("IPCMy current work is on IPC.", "IPC"),
    ("TTC Supporting Logo Red-1Today is Time to Talk day.", "TTC Supporting Logo Red-1"),
    ("IPC_commissioning_cycleAs with integration, it varies.", "IPC_commissioning_cycle"),
    ("Commissioning levelsCommissioning in social care emerged.", "Commissioning levels"),
])
def test_glued_alt_text_detector_finds_alt_text(text, alt):
    assert text[:glued_alt_text(text)] == alt


def test_headings_become_sections_not_claims(chunked, segmented):
    def sections(pid):
        return [s.text for s in segmented[pid] if s.kind == "heading"]

    assert sections("personalisation-is-just-a-cover-for-cuts-debunked") == [
        "No cuts elsewhere", "Timing", "A deliberate plan?", "Conclusion"]
    assert sections("practicalities-of-introducing-pbr-in-mental-health-transition-protocols") == [
        "Transition protocols", "National / local tariff", "Data quality",
        "Link of Payment by Results in mental health to social care"]
    assert sections("following-the-money-can-support-personalised-payment-mechanisms-exploring-the") == [
        "I. The health payment system", "II. Extending the health payment system into mental health",
        "III. The opportunities\xa0and perils of moving a health payment system into social care"]
    assert sections("integrated") == ["What do we mean by ‘integration’?", "What difference does integration make?"]
    assert sections("1-25billion-for-childrens-mental-health-whats-it-worth-and-whats-it-for") == ["Notes:"]
    assert sections("highlights-from-cqcs-state-of-care-technical-annex-and-kings-funds-money-fest") == [
        "Total and type of spend on adult social care:", "Direct Payments expenditure:", "Top-ups"]
    claims = chunked["personalisation-is-just-a-cover-for-cuts-debunked"]
    by_text = {c.text: c for c in claims}
    assert by_text["Is it true to say that there haven’t been cuts in services that aren’t personalised?"].section \
        == "No cuts elsewhere"
    assert claims[0].section is None and claims[-1].section == "Conclusion"
    fund = chunked["highlights-from-cqcs-state-of-care-technical-annex-and-kings-funds-money-fest"]
    assert {c.section for c in fund if c.text.startswith("This one surprised me")} == {"Top-ups"}
    headings = set(skipped(segmented, "heading"))
    assert not headings & {c.text for claims in chunked.values() for c in claims}


def test_captions_and_figure_titles_are_not_claims(segmented, chunked):
    assert skipped(segmented, "caption") == Counter({
        "Gross ASC expenditure, 2000-1 to 2012-13": 1, "ASC expenditure year on year change, 2000-1 to 2012-13": 1,
        "UK public spending, 1940-2015": 1, "PbR worked examples": 1, "Click to enlarge": 1,
        "Image via EIL": 1, "Status Quo": 1, "Image via Cascade Fellows": 2, "Image by Nigel Wedge on Flickr": 2,
        "Image via The Poke": 2, "Alternative Guide to the NHS - from the King's Fund": 1,
        "Alternative Guide to the NHS – from The King’s Fund": 1, "Source: King's Fund": 1,
        "Source: King’s Fund (pdf)": 1, "Scene_at_the_Signing_of_the_Constitution_of_the_United_States": 1,
        "MH spending 0809 to 1314 h": 1, "Commissioning evidence of impact": 1, "IPC": 1,
    })
    texts = {c.text for claims in chunked.values() for c in claims}
    assert not any("Image via" in t or "Click to enlarge" in t or "Continue reading" in t for t in texts)


def test_short_last_lines_and_long_questions_stay_claims(chunked):
    last = chunked["spending-in-mental-health-80-percent-in-and-out"][-1]
    assert (last.text, last.is_question, last.section) == ("What does this tell you?", True, None)
    assert chunked["highlights-from-cqcs-state-of-care-technical-annex-and-kings-funds-money-fest"][-1].text \
        == "What could possibly go wrong?"
    gp = chunked["gps-to-arrange-coordination-of-health-and-social-care-pfft-updated"][0]
    assert gp.text == "I’ve just read that under the new GP contracts for 2014/15, it is being suggested"


def test_questions_are_marked(chunked):
    questions = {c.text for claims in chunked.values() for c in claims if c.is_question}
    assert {"What does this tell you?", "How could I possibly resist?!", "Who is the change being asked of?",
            "“What difference do each make?”", "Does this mean that personalisation has failed?"} <= questions
    statements = {c.text for claims in chunked.values() for c in claims if not c.is_question}
    assert "A natural question to ask is “What’s that?”, and it’s a very good question." in statements
    assert "No." in statements


def test_list_items_are_one_claim_each_without_their_marker(chunked, segmented):
    claims = chunked["the-disability-rights-agenda-too-narrow-possibly-lost-or-both"]
    items = [c for c in claims if c.kind == "list-item"]
    assert len(items) == 10
    assert items[0].text.startswith("The emerging Green Paper")
    assert items[-1].text == "We should consider disbanding the Department for Work & Pensions and shift to an " \
        "approach that works on a themed basis that more specifically has responsibility for a wide-ranging " \
        "disability rights agenda, e.g. a Department for Inclusion."
    coproduction = [c for c in chunked["coproduction-win-and-bill-shankly"] if c.kind == "list-item"]
    assert [c.text[:20] for c in coproduction] == [
        "Quite a lot of peopl", "The following questi", "Both SCIE’s Chair (L", "It was noted there w",
        "Coproduction has com"]
    markers = skipped(segmented, "marker")
    assert markers["•"] > 50 and markers["[1] –"] == 6 and markers["*"] == 1


def test_bibliography_reference_lines_are_not_claims(posts, chunked, segmented):
    pid = "payment-by-results-and-mental-health-bibliography-and-reading"
    assert posts[pid].kind == "bibliography"
    assert [c.text for c in chunked[pid]] == [
        "This post is one in a series on Payment by Results in mental health, written for both professional "
        "and personal reasons.", "The full series is introduced and linked to here."]
    references = [s.text for s in segmented[pid] if s.kind == "reference"]
    assert len(references) == 15
    assert references[5] == ("Department of Health (DH) (2011b), Payment by Results: Draft 2012-13 Mental Health "
                             "Guidance (available here)")
    # The same line in an article is prose: only bibliography posts list references.
    article = replace(posts[pid], id="x", kind="article")
    assert len(chunk_post(article)) == 17


def test_excerpts_lose_their_continue_reading(posts, chunked):
    excerpts = [pid for pid, post in posts.items() if post.excerpt]
    assert len(excerpts) == 2
    for pid in excerpts:
        assert posts[pid].body.rstrip().endswith("Continue reading")
        assert not chunked[pid][-1].text.endswith("Continue reading")
    assert chunked["micro-enterprise-care-and-support-on-a-scale-thats-just-right"][-1].text \
        == "In particular I was struck"


def test_ids_are_stable_when_other_claims_change(posts):
    post = posts["personalisation-is-just-a-cover-for-cuts-debunked"]
    before = {c.text: c.id for c in chunk_post(post)}
    edited = replace(post, body="A brand new opening sentence. Another one.\n\n" + post.body.replace(
        "Let’s look at each of these in reverse order.", "Let’s look at these in turn."))
    after = {c.text: c.id for c in chunk_post(edited)}
    unchanged = set(before) & set(after)
    assert len(unchanged) == len(before) - 1
    assert all(before[t] == after[t] for t in unchanged)
    assert chunk_post(replace(post, id="other"))[0].id != chunk_post(post)[0].id


def test_repeated_text_in_one_post_gets_numbered_ids():
    claims = chunk_post(Post(id="p", title="t", body="Really. Yes. Really.\n\nReally."))
    base = claim_id("p", "Really.")
    assert [c.id for c in claims] == [base, claim_id("p", "Yes."), f"{base}-2", f"{base}-3"]


def test_chunking_the_corpus_is_fast(posts, overrides):
    started = time.perf_counter()
    for _ in range(3):
        for post in posts.values():
            chunk_post(post, overrides)
    assert (time.perf_counter() - started) / 3 < 0.25


# ----------------------------------------------------------------------------- overrides

def test_missing_overrides_file_means_none(tmp_path):
    assert load_overrides(tmp_path / "absent.yaml").lines == {}
    assert load_overrides(None).lines == {}


@pytest.mark.parametrize("text, message", [
    ("post: [a, b]\n", "must map line texts"),
    ("post:\n  'A line': quote\n", "is not one of heading, caption, text"),
    ("post: {a: b\n", "not valid YAML"),
    ("- a list\n", "expected a mapping"),
])
def test_bad_overrides_file_is_reported_with_the_fix(tmp_path, text, message):
    path = tmp_path / "claims-overrides.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ClaimsError, match=message) as info:
        load_overrides(path)
    assert str(path) in str(info.value) and "heading | caption | text" in str(info.value)


def test_the_reviewed_overrides_all_apply(posts, overrides):
    assert overrides.lines and check_overrides(posts.values(), overrides) == []
    stale = ClaimOverrides({"personal": {"No such line": "caption"}, "no-such-post": {"x": "heading"}}, "f.yaml")
    messages = [f.message for f in check_overrides(posts.values(), stale)]
    assert len(messages) == 2 and "unknown post 'no-such-post'" in messages[1]


def test_overrides_decide_what_heuristics_cannot(posts, overrides):
    post = posts["personal"]
    assert chunk_post(post)[0].text == "My current work is on the Integrated Personal Commissioning (IPC) programme, " \
        "working for Think Local Act Personal and closely with NHS England."
    assert chunk_post(post)[0].section == "IPC"  # without the override "IPC" reads as a heading
    assert chunk_post(post, overrides)[0].section is None
    as_text = ClaimOverrides({"personal": {"What do we mean by ‘personal’?": "text"}})
    claims = chunk_post(post, as_text)
    question = next(c for c in claims if c.text == "What do we mean by ‘personal’?")
    assert question.is_question and question.section == "IPC"


def test_chunk_posts_reports_a_bad_post_and_goes_on(posts):
    bad = Post(id="bad", title="Bad", body=None, path="corpus/posts/bad.md")  # type: ignore[arg-type]
    claims, failures = chunk_posts([bad, posts["personal"]])
    assert claims and [f.item for f in failures] == ["corpus/posts/bad.md"]
    assert "corpus/posts" in failures[0].message


# ----------------------------------------------------------------------------- is_question

@pytest.mark.parametrize("text, expected", [
    ("What does this tell you?", True),
    ("“What difference do each make?”", True),
    ("How could I possibly resist?!", True),
    ("Is it the same? (DH, 2011b:6)", True),
    ("A natural question to ask is “What’s that?”, and it’s a very good question.", False),
    ("(As an aside, this is rhetorical.)", False),
    ("Specific: When has the Daily Mail actually covered anything on social care?", True),
])
def test_is_question(text, expected):
    assert is_question(text) is expected


# ----------------------------------------------------------------------------- tricky sentences

# (post it comes from, paragraph or list line exactly as in the post, the claims expected)
TRICKY = [
    ('payment-by-results-in-mental-health-and-personalisation',
     '“The Care Pathways and Packages approach that is being used for mental health Payment by results has the potential for embedding personalisation into mental health services. By focussing on individual needs it potentially lends itself to commissioning for outcomes and this will be developed further. The “results” should ultimately be more personalised services and improved outcomes.” (ADASS, 2009)',
     ['“The Care Pathways and Packages approach that is being used for mental health Payment by results has the potential for embedding personalisation into mental health services. By focussing on individual needs it potentially lends itself to commissioning for outcomes and this will be developed further. The “results” should ultimately be more personalised services and improved outcomes.” (ADASS, 2009)']),
    ('payment-by-results-in-mental-health-and-personalisation',
     'In the early days of PbR in mental health, it was noted that implementation needed to support the adoption of best practice in the delivery of outcomes, as set out in No Health Without Mental Health. Similarly, ADASS amongst others noted that PbR in mental health needed to take a whole-systems approach to mental health needs, or otherwise risk “unwittingly undermine some of the innovative partnerships, services and associated health and social care outcomes for people” (ADASS, 2009).',
     ['In the early days of PbR in mental health, it was noted that implementation needed to support the adoption of best practice in the delivery of outcomes, as set out in No Health Without Mental Health.', 'Similarly, ADASS amongst others noted that PbR in mental health needed to take a whole-systems approach to mental health needs, or otherwise risk “unwittingly undermine some of the innovative partnerships, services and associated health and social care outcomes for people” (ADASS, 2009).']),
    ('payment-by-results-in-mental-health-and-personalisation',
     'Currently, PbR is felt to be more about contracting, rather than commissioning mental health services (MHN, 2011b:15). For it to be successful it needs to evolve from “being an essentially ‘payment by activity’ model, to becoming a true ‘payment by results’ approach” (RCP, 2012:8).',
     ['Currently, PbR is felt to be more about contracting, rather than commissioning mental health services (MHN, 2011b:15).', 'For it to be successful it needs to evolve from “being an essentially ‘payment by activity’ model, to becoming a true ‘payment by results’ approach” (RCP, 2012:8).']),
    ('payment-by-results-in-mental-health-and-personalisation',
     'These worries have included whether PbR may perpetuate a medical model of mental health rather than taking into account a range of social care outcomes. Similarly, by taking a deficit approach to mental health – through, for example, using HoNOS measures – the tools of PbR may not be geared towards promoting recovery-based approaches and increasing social inclusion (ADASS, 2011). The language currently used in the PbR Clusters and the allocation tool tends to focus on symptoms and problems” (NDTi, 2012:13). This is a concern echoed by the Royal College of Psychiatrist:',
     ['These worries have included whether PbR may perpetuate a medical model of mental health rather than taking into account a range of social care outcomes.', 'Similarly, by taking a deficit approach to mental health – through, for example, using HoNOS measures – the tools of PbR may not be geared towards promoting recovery-based approaches and increasing social inclusion (ADASS, 2011).', 'The language currently used in the PbR Clusters and the allocation tool tends to focus on symptoms and problems” (NDTi, 2012:13).', 'This is a concern echoed by the Royal College of Psychiatrist:']),
    ('payment-by-results-in-mental-health-and-personalisation',
     '“The College recognises that social, economic and cultural influences will have a large impact on outcomes… Likewise, the College’s determination to support recovery principles and service user empowerment emphasises a focus on patients’ strengths and skills which are currently absent from the care clusters.” (RCP, 2012)',
     ['“The College recognises that social, economic and cultural influences will have a large impact on outcomes… Likewise, the College’s determination to support recovery principles and service user empowerment emphasises a focus on patients’ strengths and skills which are currently absent from the care clusters.” (RCP, 2012)']),
    ('practicalities-of-introducing-pbr-in-mental-health-transition-protocols',
     'It was noted early in the development of PbR in mental health that “the costs of social care and other provision should be identified and factored into the PbR work.” (ADASS, 2009:3).',
     ['It was noted early in the development of PbR in mental health that “the costs of social care and other provision should be identified and factored into the PbR work.” (ADASS, 2009:3).']),
    ('practicalities-of-introducing-pbr-in-mental-health-defined-interventions-and',
     'The care packages are designed to inform, but not supersede, clinical decisions (CHE, 2009:4); they are based on both clinical guidelines and NICE guidance. The Department of Health is more generally clear that clusters themselves shouldn’t define appropriate interventions and treatments, and draws attention to the fact most interventions are well defined by NICE / SCIE professional guidelines and associated standards and outcomes (including those of CQC) (DH, 2011b:6; DH, 2013:5). RCP is also clear on this point:',
     ['The care packages are designed to inform, but not supersede, clinical decisions (CHE, 2009:4); they are based on both clinical guidelines and NICE guidance.', 'The Department of Health is more generally clear that clusters themselves shouldn’t define appropriate interventions and treatments, and draws attention to the fact most interventions are well defined by NICE / SCIE professional guidelines and associated standards and outcomes (including those of CQC) (DH, 2011b:6; DH, 2013:5).', 'RCP is also clear on this point:']),
    ('practicalities-of-introducing-pbr-in-mental-health-defined-interventions-and',
     'The IMHSEC project / resource also takes a similar approach – http://www.mednetconsult.co.uk/imhsec/.',
     ['The IMHSEC project / resource also takes a similar approach – http://www.mednetconsult.co.uk/imhsec/.']),
    ('spending-in-mental-health-80-percent-in-and-out',
     'In 2011/12, the total spend on Direct Payments for Mental Health was £30.5m. This was 0.56% of all mental health spend.',
     ['In 2011/12, the total spend on Direct Payments for Mental Health was £30.5m.', 'This was 0.56% of all mental health spend.']),
    ('1-25billion-for-childrens-mental-health-whats-it-worth-and-whats-it-for',
     'Over the weekend, the Lib Dems said there will be £1.25billion for “children’s mental health services”. This money is to be over 5 years, equating to £250million per year.',
     ['Over the weekend, the Lib Dems said there will be £1.25billion for “children’s mental health services”.', 'This money is to be over 5 years, equating to £250million per year.']),
    ('following-the-money-can-support-personalised-payment-mechanisms-exploring-the',
     'To get to this point the payment system in health has evolved a lot since it was first introduced in 2003/4. That year this type of payment system made up around £100m of health spending (some 0.2% of relevant commissioner allocations); by 2011/12 it made up £28.9bn of health spending (32.4% of relevant commissioner allocations).',
     ['To get to this point the payment system in health has evolved a lot since it was first introduced in 2003/4.', 'That year this type of payment system made up around £100m of health spending (some 0.2% of relevant commissioner allocations); by 2011/12 it made up £28.9bn of health spending (32.4% of relevant commissioner allocations).']),
    ('integration-transformation-fund-robbing-peter-to-pay-paul',
     '  2. After reading the most recent announcement on the Integration Transformation Fund (see here\xa0– pdf) I’ve noticed that part of the Fund in 2015/16 will be made up of c£220m of Disabled Facilities Grant funding and £130m Carers’ Breaks funding.',
     ['After reading the most recent announcement on the Integration Transformation Fund (see here\xa0– pdf) I’ve noticed that part of the Fund in 2015/16 will be made up of c£220m of Disabled Facilities Grant funding and £130m Carers’ Breaks funding.']),
    ('four-lessons-for-political-reform',
     '  1. Personalisation has focused too much on technical changes (e.g. Resource Allocation Systems, online directories of support), and not enough on political ones (including attitudinal and cultural)',
     ['Personalisation has focused too much on technical changes (e.g. Resource Allocation Systems, online directories of support), and not enough on political ones (including attitudinal and cultural)']),
    ('micro-enterprise-care-and-support-on-a-scale-thats-just-right',
     'This is a guest blog from researcher Catherine Needham\xa0of the University of Birmingham, who is launching the first research to look at whether size of provider organisation makes a difference to outcomes and cost-effectiveness. The summary is very readable and should be of interest to all care commissioners. Dr Needham writes:',
     ['This is a guest blog from researcher Catherine Needham\xa0of the University of Birmingham, who is launching the first research to look at whether size of provider organisation makes a difference to outcomes and cost-effectiveness.', 'The summary is very readable and should be of interest to all care commissioners.', 'Dr Needham writes:']),
    ('an-ownership-revolution-for-public-services',
     'Prof Peter Beresford of Brunel University chairs the user led network, Shaping our Lives. We sometimes find ourselves debating the practicalities of personal budgets and resource allocation systems, but also share lots of common ground when it comes to the values of personalisation. We co-authored an article published in the Local Government Chronicle website on May 14th and on the TLAP blog\xa0which argues for an ownership revolution in public services.',
     ['Prof Peter Beresford of Brunel University chairs the user led network, Shaping our Lives.', 'We sometimes find ourselves debating the practicalities of personal budgets and resource allocation systems, but also share lots of common ground when it comes to the values of personalisation.', 'We co-authored an article published in the Local Government Chronicle website on May 14th and on the TLAP blog\xa0which argues for an ownership revolution in public services.']),
    ('following-the-money-can-support-personalised-payment-mechanisms-exploring-the',
     'In its introduction to the payment system (from 2013) the Department of Health produced this useful diagram to explain the broad principles of how the payment system applied to Mrs Smith having twins, Mr Jones having an emergency hip replacement and how much their treatment costs.',
     ['In its introduction to the payment system (from 2013) the Department of Health produced this useful diagram to explain the broad principles of how the payment system applied to Mrs Smith having twins, Mr Jones having an emergency hip replacement and how much their treatment costs.']),
    ('personal',
     'Peronalisation quadrantsThe landmark policy statement for personalisation was the Putting People First Concordat of 2007\xa0(pdf). In this we see the key principles of a personalised approach: “Replacing paternalistic, reactive care of variable quality with [a] focus on prevention, early intervention, and high quality personally tailored services… [where] people have maximum choice, control and power… People who use social care services and their families will increasingly shape and commission their own services” (p.2). The Care Act (2014) has since embedded many of these principles in legislation\xa0(see also the “policy and legislation” box here\xa0(pdf) (p.4)).',
     ['The landmark policy statement for personalisation was the Putting People First Concordat of 2007\xa0(pdf).', 'In this we see the key principles of a personalised approach: “Replacing paternalistic, reactive care of variable quality with [a] focus on prevention, early intervention, and high quality personally tailored services… [where] people have maximum choice, control and power… People who use social care services and their families will increasingly shape and commission their own services” (p.2).', 'The Care Act (2014) has since embedded many of these principles in legislation\xa0(see also the “policy and legislation” box here\xa0(pdf) (p.4)).']),
    ('personal',
     'The second chapter of the Five Year Forward View is explicit about preventative, person-centred, empowering approaches in health. This itself builds on Domain 2 of the NHS Outcomes Framework\xa0which focuses on enhancing the quality of life for people with long-term health conditions through personalised care and support planning. Bothe the 5YFV and Domain 2 of the NHS Outcomes Framework are why we see such a focus on person-centred approaches in the Vanguards/New Models of Care support offer, whose Chapter 4 shares what that key programme will do to empower people and communities through, for example, person-centred care and support, and services created in partnership with people and communities (pp.18-19)\xa0(pdf).',
     ['The second chapter of the Five Year Forward View is explicit about preventative, person-centred, empowering approaches in health.', 'This itself builds on Domain 2 of the NHS Outcomes Framework\xa0which focuses on enhancing the quality of life for people with long-term health conditions through personalised care and support planning.', 'Bothe the 5YFV and Domain 2 of the NHS Outcomes Framework are why we see such a focus on person-centred approaches in the Vanguards/New Models of Care support offer, whose Chapter 4 shares what that key programme will do to empower people and communities through, for example, person-centred care and support, and services created in partnership with people and communities (pp.18-19)\xa0(pdf).']),
    ('commissioning',
     'It might strike you as slightly odd—it did me coming into the department—that no-one had defined what good commissioning was in 20 or 30 years. (para 137) (pdf)',
     ['It might strike you as slightly odd—it did me coming into the department—that no-one had defined what good commissioning was in 20 or 30 years. (para 137) (pdf)']),
    ('commissioning',
     '[It is] clear that there are few examples of robust evaluations of commissioning in the academic literature. Moreover, the grey and practitioner literature tends to focus on commissioning in single government departments, local initiatives or single services/client groups. It has been noted that the efficiency, effectiveness and efficacy of commissioning and strategic commissioning is typically taken for granted rather than demonstrated… The evidence base on the outcomes of commissioning remains under-developed and such evidence as exists is equivocal –\xa0Williams et al.\xa0(pdf)',
     ['[It is] clear that there are few examples of robust evaluations of commissioning in the academic literature.', 'Moreover, the grey and practitioner literature tends to focus on commissioning in single government departments, local initiatives or single services/client groups.', 'It has been noted that the efficiency, effectiveness and efficacy of commissioning and strategic commissioning is typically taken for granted rather than demonstrated… The evidence base on the outcomes of commissioning remains under-developed and such evidence as exists is equivocal –\xa0Williams et al.\xa0(pdf)']),
    ('some-consensus-on-the-problem-solutions-prove-harder',
     'So what we’re all agreed upon is that there are still huge challenges in turning the ideal of choice and control into practical reality, but what we’re short of\xa0are detailed, workable alternatives to the RAS…. I’m still drafting my attempt at this – and fully expecting to be shot down in flames when I post it!',
     ['So what we’re all agreed upon is that there are still huge challenges in turning the ideal of choice and control into practical reality, but what we’re short of\xa0are detailed, workable alternatives to the RAS….', 'I’m still drafting my attempt at this – and fully expecting to be shot down in flames when I post it!']),
    ('some-consensus-on-the-problem-solutions-prove-harder',
     'Jez Ashdown adds, “My experience of working with a number local authorities across the North of England is that the RAS process has never lived up to its intended purpose… In a system where the resources available fail to meet the need the primary function of that system will be to ration, or allocate resources to competing priorities. In the case of social care this tends to mean that nearly everyone gets less than they need.”',
     ['Jez Ashdown adds, “My experience of working with a number local authorities across the North of England is that the RAS process has never lived up to its intended purpose… In a system where the resources available fail to meet the need the primary function of that system will be to ration, or allocate resources to competing priorities. In the case of social care this tends to mean that nearly everyone gets less than they need.”']),
    ('some-consensus-on-the-problem-solutions-prove-harder',
     'Veteran disability rights activist, consultant and trainer, Simon Stevens outlines how his council effectively took a different approach, whilst the RAS is, in his view, ”\xa0just itemised billing on an old system”. In a recent comment he says, “A good assessment is a piece of art and not a work of science….It is important to remember, personal budgets were never what was intended, and it was born out of the failure of individualised budgets where the funding streams were supposed to come together……Life is complex and fairness is subjective so assessments must be reflective to individual circumstances. I have heard RAS described as an mechanism to keep social workers ‘on the straight and narrow’ rather than users.”',
     ['Veteran disability rights activist, consultant and trainer, Simon Stevens outlines how his council effectively took a different approach, whilst the RAS is, in his view, ”\xa0just itemised billing on an old system”.', 'In a recent comment he says, “A good assessment is a piece of art and not a work of science….It is important to remember, personal budgets were never what was intended, and it was born out of the failure of individualised budgets where the funding streams were supposed to come together……Life is complex and fairness is subjective so assessments must be reflective to individual circumstances. I have heard RAS described as an mechanism to keep social workers ‘on the straight and narrow’ rather than users.”']),
    ('all-too-human-the-need-for-coalitions-across-different-motivations-and',
     'But below the “how” is a question even less attention is given to: “who?” Rarely is it considered: who is asking for this change?\xa0Who is the change being asked of? What are the motivations of these respective groups?',
     ['But below the “how” is a question even less attention is given to: “who?”', 'Rarely is it considered: who is asking for this change?', 'Who is the change being asked of?', 'What are the motivations of these respective groups?']),
    ('all-too-human-the-need-for-coalitions-across-different-motivations-and',
     'Much debate in public policy focuses on the “why” and the “what”.\xa0Why is this issue important?\xa0Why should it be prioritised over something else?\xa0What should be in place that isn’t?\xa0What needs to change for this to happen?',
     ['Much debate in public policy focuses on the “why” and the “what”.', 'Why is this issue important?', 'Why should it be prioritised over something else?', 'What should be in place that isn’t?', 'What needs to change for this to happen?']),
    ('all-too-human-the-need-for-coalitions-across-different-motivations-and',
     'It is too easy to lament how poor commissioning and commissioners are; or how it would be so much better if only senior leaders recognised the radical difference that x or y would make. But this is to fall into the trap of “what’s the matter with these people?” rather than thinking, familiarly enough, “what matters to these people?”',
     ['It is too easy to lament how poor commissioning and commissioners are; or how it would be so much better if only senior leaders recognised the radical difference that x or y would make.', 'But this is to fall into the trap of “what’s the matter with these people?” rather than thinking, familiarly enough, “what matters to these people?”']),
    ('personalisation-s117-aftercare-out-of-area-placements-and-george-clooney',
     'Does this mean that personalisation has failed? No. But what does it mean?',
     ['Does this mean that personalisation has failed?', 'No.', 'But what does it mean?']),
    ('another-cross-party-commission-on-health-and-social-care',
     '(As an aside, can someone explain to me why\xa0ex-Ministers seem to be more proactive in a policy area than they were when actually\xa0Minister for the relevant portfolio?\xa0This, of course, is a rhetorical question, but doesn’t make the situation any less frustrating.)',
     ['(As an aside, can someone explain to me why\xa0ex-Ministers seem to be more proactive in a policy area than they were when actually\xa0Minister for the relevant portfolio?', 'This, of course, is a rhetorical question, but doesn’t make the situation any less frustrating.)']),
    ('highlights-from-cqcs-state-of-care-technical-annex-and-kings-funds-money-fest',
     'A Technical Annex\xa0(pdf) to go with CQC’s State of Care 2012/13 report, you say? How could I possibly resist?!',
     ['A Technical Annex\xa0(pdf) to go with CQC’s State of Care 2012/13 report, you say?', 'How could I possibly resist?!']),
    ('highlights-from-cqcs-state-of-care-technical-annex-and-kings-funds-money-fest',
     'For those folks who want extra geek points – and, frankly, who doesn’t? – it’s well worth reading CQC’s technical funding annex in conjunction with the King’s Fund’s submission\xa0(pdf) to the Health Select Committee’s Inquiry into public expenditure on health on social care. In social care, it notes:',
     ['For those folks who want extra geek points – and, frankly, who doesn’t? – it’s well worth reading CQC’s technical funding annex in conjunction with the King’s Fund’s submission\xa0(pdf) to the Health Select Committee’s Inquiry into public expenditure on health on social care.', 'In social care, it notes:']),
    ('1-25billion-for-childrens-mental-health-whats-it-worth-and-whats-it-for',
     'When large sums of money are announced in public services there are two questions to ask yourself: (1) What is the money worth in the context of the existing system?; and (2) What will it be spent on?',
     ['When large sums of money are announced in public services there are two questions to ask yourself: (1) What is the money worth in the context of the existing system?; and (2) What will it be spent on?']),
    ('the-greens-may-have-something-to-say-but-natalie-bennetts-performances-put-them',
     'At the party level I can’t help but think that the Greens need more political professionals behind them – like strategists, media managers, policy people etc. – to try and get their house in order and prevent / minimise this type of thing happening again and again.',
     ['At the party level I can’t help but think that the Greens need more political professionals behind them – like strategists, media managers, policy people etc. – to try and get their house in order and prevent / minimise this type of thing happening again and again.']),
    ('1-25billion-for-childrens-mental-health-whats-it-worth-and-whats-it-for',
     '[2] – I think it is worth noting just how difficult it is to get hold of spending figures on children’s mental health. The Health Select Committee’s recent report on children’s mental health services noted (paragraph 15 here http://www.publications.parliament.uk/pa/cm201415/cmselect/cmhealth/342/342.pdf (pdf)) there is a “lack of information about service provision, including demand,\xa0 access and expenditure” and that the best source of such information is currently voluntary. The spending figures found by Young Minds took an FOI request!',
     ['I think it is worth noting just how difficult it is to get hold of spending figures on children’s mental health.', 'The Health Select Committee’s recent report on children’s mental health services noted (paragraph 15 here http://www.publications.parliament.uk/pa/cm201415/cmselect/cmhealth/342/342.pdf (pdf)) there is a “lack of information about service provision, including demand,\xa0 access and expenditure” and that the best source of such information is currently voluntary.', 'The spending figures found by Young Minds took an FOI request!']),
    ('gps-to-arrange-coordination-of-health-and-social-care-pfft-updated',
     'GPs will oversee social care for vulnerable patients… Family doctors will “case manage proactively” patients with complex needs by developing and regularly reviewing personalised care plans that will cover health and social care needs.',
     ['GPs will oversee social care for vulnerable patients… Family doctors will “case manage proactively” patients with complex needs by developing and regularly reviewing personalised care plans that will cover health and social care needs.']),
    ('coproduction-win-and-bill-shankly',
     '1. Quite a lot of people get hung up on the definition of coproduction. I find this takes up valuable time that could be used figuring out how coproduction can be a very effective means by which we change public services and the role real people play in this. It may be easier to agree on what coproduction isn’t (clue: two public sector professionals from different organisations meeting together isn’t coproduction)',
     ['Quite a lot of people get hung up on the definition of coproduction. I find this takes up valuable time that could be used figuring out how coproduction can be a very effective means by which we change public services and the role real people play in this. It may be easier to agree on what coproduction isn’t (clue: two public sector professionals from different organisations meeting together isn’t coproduction)']),
    ('self-directed-support-in-mental-health-what-can-you-do-differently',
     'Henry Ford famously said: “If you always do what you’ve always done, you’ll always get what you’ve always got.” The Act is therefore a really good chance to do something differently. A really interesting question for everyone with an interest in the mental health system to ask themselves is: what can they do differently as a result of the new SDS Act?',
     ['Henry Ford famously said: “If you always do what you’ve always done, you’ll always get what you’ve always got.”', 'The Act is therefore a really good chance to do something differently.', 'A really interesting question for everyone with an interest in the mental health system to ask themselves is: what can they do differently as a result of the new SDS Act?']),
    ('personalisation-s117-aftercare-out-of-area-placements-and-george-clooney',
     'Start where you are. Use what you have. Do what you can – Arthur Ashe (via @areynolds67)',
     ['Start where you are.', 'Use what you have.', 'Do what you can – Arthur Ashe (via @areynolds67)']),
    ('personal-budgets-summit-or-nowt',
     'At the Personalisation Summit yesterday, chaired by the Minister, Norman Lamb MP, and hosted by Think Local Act Personal and the Dept Health,\xa0we had a useful recap on the findings from the second POET survey of people in 20 odd local authorities about their experience of personal budgets. As in previous surveys, the average result of a personal budget is improvement in outcomes and experience, which is encouraging. What was helpful about this survey was that the report also sets out the range of responses, which, even amongst the local authorities committed enough to take part in POET, was wide.',
     ['At the Personalisation Summit yesterday, chaired by the Minister, Norman Lamb MP, and hosted by Think Local Act Personal and the Dept Health,\xa0we had a useful recap on the findings from the second POET survey of people in 20 odd local authorities about their experience of personal budgets.', 'As in previous surveys, the average result of a personal budget is improvement in outcomes and experience, which is encouraging.', 'What was helpful about this survey was that the report also sets out the range of responses, which, even amongst the local authorities committed enough to take part in POET, was wide.']),
    ('patient-opinion-is-your-favourite-band-is-nhs-england-the-big-record-company',
     '*I generally don’t like argument by analogy, but make an exception here. Please don’t get too hung up on the band / record company thing.',
     ['I generally don’t like argument by analogy, but make an exception here.', 'Please don’t get too hung up on the band / record company thing.']),
    ('micro-enterprise-care-and-support-on-a-scale-thats-just-right',
     'Like most academic studies, the research answered many questions but generated others. In particular I was struck Continue reading',
     ['Like most academic studies, the research answered many questions but generated others.', 'In particular I was struck']),
    ('a-patchwork-quilt',
     'Think Local, Act Personal, the sector-led partnership which is helping providers and councils to push forward with personalisation, has teamed up with SCIE to publish “Improving Personal Budgets for Older People: A Review” which you can find here: http://bit.ly/YyWRZR. Some of the findings are based on data from the ADASS personalisation survey (2012) of councils and the 2011 POET survey which is a large annual survey carried out by Think Local, Act Personal of people’s experiences of personal budgets.',
     ['Think Local, Act Personal, the sector-led partnership which is helping providers and councils to push forward with personalisation, has teamed up with SCIE to publish “Improving Personal Budgets for Older People: A Review” which you can find here: http://bit.ly/YyWRZR.', 'Some of the findings are based on data from the ADASS personalisation survey (2012) of councils and the 2011 POET survey which is a large annual survey carried out by Think Local, Act Personal of people’s experiences of personal budgets.']),
    ('personalisation-is-just-a-cover-for-cuts-debunked',
     'More pertinently, personalisation has a long history. Quite aside from campaigning efforts, Direct Payments legislation was first introduced in 1996 through the Community Care and Direct Payments Act 1996 and 2001’s Health and Social Care Act made it mandatory rather than discretionary to offer direct payments to those with an assessed need.\xa0 (See both the King’s Fund\xa0and SCIE’s\xa0excellent timelines of adult social care.)',
     ['More pertinently, personalisation has a long history.', 'Quite aside from campaigning efforts, Direct Payments legislation was first introduced in 1996 through the Community Care and Direct Payments Act 1996 and 2001’s Health and Social Care Act made it mandatory rather than discretionary to offer direct payments to those with an assessed need.', '(See both the King’s Fund\xa0and SCIE’s\xa0excellent timelines of adult social care.)']),
    ('commissioning',
     'This is from Health Select Committee’s report on Commissioning in the NHS\xa0(pdf)\xa0– a report which notes (rightly) that the vast majority of the public don’t know what commissioning is despite its central importance to the running of health and social care.\nCommissioning models in the NHSThere are endless reports, chapters and even books on the topic of commissioning. Below, therefore, is a very brief summary of some of the key developments in commissioning relevant to health and social care.',
     ['This is from Health Select Committee’s report on Commissioning in the NHS\xa0(pdf)\xa0– a report which notes (rightly) that the vast majority of the public don’t know what commissioning is despite its central importance to the running of health and social care.', 'There are endless reports, chapters and even books on the topic of commissioning.', 'Below, therefore, is a very brief summary of some of the key developments in commissioning relevant to health and social care.']),
    ('personal',
     '  • ASC satisfactionThe Social Care Elf and Mental Elf have usefully summarised some key studies on the effects of personalisation and Personal Budgets for key user groups: for older people, for people with mental health problems, and for carers',
     ['The Social Care Elf and Mental Elf have usefully summarised some key studies on the effects of personalisation and Personal Budgets for key user groups: for older people, for people with mental health problems, and for carers']),
    ('1-25billion-for-childrens-mental-health-whats-it-worth-and-whats-it-for',
     'down graphSpending specifically on children’s mental health services has been cut by 6.4% since 2010. In 2009/10 some £766m was spent on children’s mental health, which by 2012/13 was £717m – a cut of £49m.',
     ['Spending specifically on children’s mental health services has been cut by 6.4% since 2010.', 'In 2009/10 some £766m was spent on children’s mental health, which by 2012/13 was £717m – a cut of £49m.']),
]


def test_tricky_table_is_big_enough():
    assert len(TRICKY) >= 25


@pytest.mark.parametrize("post_id, text, expected", TRICKY, ids=[f"{i:02d}" for i in range(len(TRICKY))])
def test_tricky_sentences(posts, post_id, text, expected):
    assert text in posts[post_id].body  # the table is taken from the corpus, not made up
    claims = chunk_post(Post(id="t", title="t", body=text))
    assert [c.text for c in claims] == expected
    in_post = [c.text for c in chunk_post(posts[post_id]) if c.text in expected]
    assert in_post == expected  # and the post itself is chunked the same way


# The corpus writes "Dr Needham" and "Mrs Smith" without full stops; other writers do not.
@pytest.mark.parametrize("text, expected", [
    ("Dr. Needham and Prof. Beresford wrote it. Mr. Jones and Mrs. Smith read it.",
     ["Dr. Needham and Prof. Beresford wrote it.", "Mr. Jones and Mrs. Smith read it."]),
    ("Williams et al. Found it in St. Helens vs. Wigan. Then it ended.",
     ["Williams et al. Found it in St. Helens vs. Wigan.", "Then it ended."]),
    ("See p. 4 and pp. 18-19 of No. 10’s report. No. It is not there.",
     ["See p. 4 and pp. 18-19 of No. 10’s report.", "No.", "It is not there."]),
    ("It cost c. £220m, i.e. Less than planned. George W. Bush agreed.",
     ["It cost c. £220m, i.e. Less than planned.", "George W. Bush agreed."]),
    ("Costs rose (e.g. Care, housing etc.) in 2013. Policy people etc. – to try.",
     ["Costs rose (e.g. Care, housing etc.) in 2013.", "Policy people etc. – to try."]),
    ("It was £28.9bn. That is 0.56%... Or more. See www.example.org/report.pdf. It works… Mostly.",
     ["It was £28.9bn.", "That is 0.56%... Or more.", "See www.example.org/report.pdf.", "It works… Mostly."]),
])
def test_abbreviations_numbers_and_ellipses(text, expected):
    assert [c.text for c in chunk_post(Post(id="t", title="t", body=text))] == expected


# ----------------------------------------------------------------------------- properties

_ALPHABET = st.sampled_from(list("abcXYZ019 \n\xa0.?!…“”\"'’()[]•-–:;,_£#@*") + ["...", "e.g.", "Dr. ", "(DH, 2011b:6)",
                                                                              "Continue reading", "[1] – ", "  • ",
                                                                              "1. ", "mazeHere", "IPCMy"])
_TEXT = st.lists(_ALPHABET, max_size=80).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_TEXT, kind=st.sampled_from(["article", "bibliography"]))
def test_any_text_is_partitioned_into_ordered_exact_segments(body, kind):
    post = Post(id="p", title="t", body=body, kind=kind)
    segments = segment_post(post)
    assert_partition(body, segments)
    claims = chunk_post(post)
    assert [(c.start, c.end) for c in claims] == [(s.start, s.end) for s in segments
                                                  if s.kind in ("sentence", "list-item")]
    assert all(body[c.start:c.end] == c.text for c in claims)
    assert [c.ordinal for c in claims] == list(range(1, len(claims) + 1))


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_mix_of_corpus_paragraphs_is_partitioned(posts, data):
    paragraphs = [p for post in posts.values() for p in post.body.split("\n\n")]
    picked = data.draw(st.lists(st.sampled_from(paragraphs), min_size=1, max_size=6))
    glue = data.draw(st.sampled_from(["\n\n", "\n", " ", "\n\xa0\n"]))
    body = glue.join(picked)
    assert_partition(body, segment_post(Post(id="p", title="t", body=body)))


# --------------------------------------------------------------------------- page furniture
# Shapes of debris seen on public policy blogs and briefings (credits, bylines, share lines,
# cookie notices), written here in our own words; each must stay out of claims, and the prose
# beside each shape must stay a claim.

from kg.furniture import debris_kind  # noqa: E402


@pytest.mark.parametrize("line, kind", [
    ("Photograph: Jane Doe/PA", "caption"),
    ("Photograph: Jane Doe/PA Wire", "caption"),
    ("Image: Getty Images", "caption"),
    ("Credit: Northshire Council", "caption"),
    ("© Example Trust 2021", "caption"),
    ("Photo credit: Sam Lee", "caption"),
    ("Figure 3: Delayed discharges by month, 2019", "caption"),
    ("A nurse on a ward in Leeds. Photograph: Tom Price/Getty", "caption"),
    ("(950 words)", "debris"),
    ("1,200 words", "debris"),
    ("By Jane Doe", "debris"),
    ("Written by Jane Doe and Raj Patel, Senior Fellows", "debris"),
    ("Jane DoeJane is a senior fellow at the Example Trust.", "debris"),
    ("Share this article", "debris"),
    ("Share on Twitter", "debris"),
    ("Read more", "debris"),
    ("Read the full story", "debris"),
    ("Continue reading Why we need a plan", "debris"),
    ("Find out more about this series >", "debris"),
    ("Tags: social care, integration", "debris"),
    ("Posted in News", "debris"),
    ("Published: 23/09/2019", "debris"),
    ("14 March 2022", "debris"),
    ("We use cookies to make this site work.", "debris"),
    ("Sign up to our newsletter for monthly updates.", "debris"),
    ("This site uses Akismet to reduce spam.", "debris"),
    ("Words: 820", "debris"),
    ("Word count: 1,450", "debris"),
    ("About the author", "debris"),
    ("About the authors: Sam Lee and Ana Ruiz work on carers' policy at a county council.", "debris"),
    ("Comments (12)", "debris"),
    ("2 comments", "debris"),
    ("Filed under Carers | Tagged assessments, respite | 5 comments", "debris"),
    ("Watch the video of this session (40 minutes)", "debris"),
    ("Table 2: Adults receiving long-term support by primary need, England, 2015/16 to 2018/19 (thousands)", "caption"),
    # Prose that mentions the same words stays prose.
    ("A photograph of the ward was published in 2019.", None),
    ("We looked at two pictures: one from 2010 and one from 2020.", None),
    ("The council newsletter reached 40,000 homes last spring.", None),
    ("By 2030 most councils will face a funding gap.", None),
    ("Share of spending on adult social care", None),
    ("Read the report carefully before deciding what it means.", None),
    ("Published research on the scheme is thin.", None),
    ("Follow the money", None),
    ("The Care Act 2014 came into force in April 2015.", None),
    ("Words matter: 640 people answered the survey.", None),
    ("About the authority's own plans, the report says little.", None),
    ("Comments from carers were overwhelmingly positive about the new scheme.", None),
    ("Listen to the people who use services before you redesign them.", None),
    ("Table 2 shows that demand rose in every region between 2015 and 2019, while spending fell.", None),
    ("Councils | the NHS | the voluntary sector: all three must change.", None),
])
def test_page_furniture_is_told_from_prose_by_its_shape(line, kind):
    assert debris_kind(line) == kind


def _kinds(body: str, **fields) -> list[tuple[str, str]]:
    return [(s.kind, s.text) for s in segment_post(Post(id="p", title="T", body=body, **fields))]


def test_a_word_count_after_a_line_of_prose_is_cut_out():
    assert _kinds("Councils face a gap of £2 billion. (950 words)") == [
        ("sentence", "Councils face a gap of £2 billion."), ("debris", "(950 words)")]


def test_a_continue_reading_link_with_its_title_is_cut_out():
    assert _kinds("The gap keeps growing. Continue reading Why councils matter") == [
        ("sentence", "The gap keeps growing."), ("debris", "Continue reading Why councils matter")]


@pytest.mark.parametrize("body, alt", [
    ("a nurse with a patientThe figures show a rise.", "a nurse with a patient"),
    ("A NURSE WITH A PATIENTThe figures show a rise.", "A NURSE WITH A PATIENT"),
    ("Care Home ResidentsMany people now pay for their own care.", "Care Home Residents"),
])
def test_alt_text_glued_to_prose_is_debris_in_any_case(body, alt):
    segments = _kinds(body)
    assert segments[0] == ("debris", alt)
    assert [k for k, _ in segments[1:]] == ["sentence"]


def test_a_share_button_set_out_as_a_list_is_not_a_list_item():
    assert _kinds("Spending rose in 2019.\n\n  • Share on Facebook\n  • Councils spent more on care.") == [
        ("sentence", "Spending rose in 2019."), ("marker", "•"), ("debris", "Share on Facebook"),
        ("marker", "•"), ("list-item", "Councils spent more on care.")]


def test_the_authors_own_biography_is_not_a_claim():
    body = "Spending rose in 2019.\n\nJane Doe is director of policy at the Example Trust."
    assert _kinds(body, author="Jane Doe")[-1] == ("debris", "Jane Doe is director of policy at the Example Trust.")
    # Without the post's author it is an ordinary sentence about someone.
    assert _kinds(body)[-1][0] == "sentence"



def test_an_author_biography_as_the_last_line_is_not_a_claim_but_the_same_shape_mid_post_is():
    bio = "Ana Ruiz is a senior policy officer at a county council."
    closing = _kinds(f"Councils cut respite first.\n\n{bio}\n\n[1] – See Table 2 of the survey.")
    assert ("debris", bio) in closing and ("sentence", "Councils cut respite first.") in closing
    middle = _kinds(f"{bio}\n\nShe argues that respite is cut first.")
    assert ("sentence", bio) in middle
    # Prose about a person that is not a job and a place stays a claim even at the end.
    assert ("sentence", "Sarah Wollaston was right.") in _kinds("Councils cut respite first.\n\nSarah Wollaston was right.")
