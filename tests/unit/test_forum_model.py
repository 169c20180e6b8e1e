"""The forum's rules as hypothesis properties: the word filter sees a word however it is
split or dressed up and sees nothing in clean text; a post moves only along its
transitions, a refused step changes nothing, and what readers see follows its status."""

from __future__ import annotations

import datetime as dt

import hypothesis.strategies as st
from hypothesis import given

from shequ.adapters.sensitive_words import BUILT_IN_WORDS, load_sensitive_words
from shequ.domain.errors import IllegalTransition, InvalidInput
from shequ.domain.forum import Board, ContentStatus, Post, ReportReason, SensitiveWords
from shequ.domain.ids import AccountId, BoardId, CommunityId, PostId
from shequ.domain.values import CHINA_STANDARD_TIME

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=CHINA_STANDARD_TIME)
WORDS = load_sensitive_words()
SEPARATORS = st.sampled_from([" ", "　", "*", "-", ".", "·", "\u200b", "\t", "|", "/", "~"])
CLEAN = "".join(
    sorted(
        set("今天天气很好我们一起去公园散步吧小区门口新开了一家面包店")
        - set("".join(BUILT_IN_WORDS))
    )
)


def full_width(ch: str) -> str:
    return chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch


@given(st.sampled_from(BUILT_IN_WORDS), st.data())
def test_a_word_is_found_however_it_is_split(word: str, data: st.DataObject) -> None:
    pieces = []
    for ch in word:
        pieces.append(ch)
        pieces.append("".join(data.draw(st.lists(SEPARATORS, max_size=3))))
    before = data.draw(st.text(alphabet=CLEAN, max_size=30))
    after = data.draw(st.text(alphabet=CLEAN, max_size=30))
    assert word in WORDS.find(before + "".join(pieces) + after)


@given(st.text(alphabet="abcxyz", min_size=2, max_size=6), st.booleans())
def test_latin_words_match_in_either_case_and_width(word: str, wide: bool) -> None:
    words = SensitiveWords.of([word])
    dressed = "".join(full_width(c) if wide else c for c in word.upper())
    assert words.find(f"看这里 {dressed}!") == (word,)


@given(st.text(alphabet=CLEAN + " ，。！？", max_size=300))
def test_clean_text_is_never_held(text: str) -> None:
    assert WORDS.find(text) == ()


def a_post() -> Post:
    board = Board.open(
        id=BoardId("b1"), community_id=CommunityId("k1"), name="闲聊", description="", now=NOW
    )
    return Post.write(
        id=PostId("p1"),
        board=board,
        author_id=AccountId("author"),
        title="周末去哪玩",
        body="推荐一下",
        words=WORDS,
        now=NOW,
    )


ALLOWED = {
    "hide": {ContentStatus.PUBLISHED, ContentStatus.HELD},
    "restore": {ContentStatus.HELD, ContentStatus.HIDDEN},
    "delete": {ContentStatus.PUBLISHED, ContentStatus.HELD, ContentStatus.HIDDEN},
    "report": {ContentStatus.PUBLISHED, ContentStatus.HELD},
}


def allowed(action: str, open_reports: int) -> set[ContentStatus]:
    """Where an action may start; a reported post may also be kept published."""
    kept = {ContentStatus.PUBLISHED} if action == "restore" and open_reports else set()
    return ALLOWED[action] | kept


@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(ALLOWED)), st.sampled_from(["author", "r1", "r2", "r3"])),
        max_size=30,
    ),
    st.integers(1, 4),
)
def test_a_post_moves_only_along_its_transitions(
    tried: list[tuple[str, str]], hold_at: int
) -> None:
    post = a_post()
    for action, who in tried:
        before = (post.status, post.open_reports, len(post.history), post.version)
        try:
            if action == "hide":
                post.hide("违规", moderator_id=AccountId("m"), now=NOW)
            elif action == "restore":
                post.restore("无问题", moderator_id=AccountId("m"), now=NOW)
            elif action == "delete":
                post.delete(now=NOW)
            else:
                held = post.report(AccountId(who), ReportReason.SPAM, hold_at=hold_at, now=NOW)
                assert held == (
                    before[0] is ContentStatus.PUBLISHED and post.open_reports >= hold_at
                )
        except (IllegalTransition, InvalidInput):
            assert (post.status, post.open_reports, len(post.history), post.version) == before
            assert before[0] not in allowed(action, before[1]) or who == "author"
        else:
            assert before[0] in allowed(action, before[1]) and post.version == before[3] + 1
            if action != "report":
                assert post.open_reports == 0  # a decision settles the reports
        published = post.status is ContentStatus.PUBLISHED
        assert post.visible_to(AccountId("r1"), moderator=False) == published
        assert post.visible_to(AccountId("author"), moderator=False) == (
            post.status is not ContentStatus.DELETED
        )
        assert post.visible_to(None, moderator=True)
