"""The sensitive-word list (敏感词) the forum holds posts and comments for: a built-in list
of the usual spam, gambling, drugs, fraud and obscenity terms, and the operator's own file
(``SHEQU_FORUM_SENSITIVE_WORDS``) added to it."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from shequ.domain.forum import SensitiveWords

__all__ = ["BUILT_IN_WORDS", "load_sensitive_words"]

BUILT_IN_WORDS: Final = (
    # gambling
    "赌博", "网赌", "博彩", "六合彩", "百家乐", "赌场", "菠菜网",
    # drugs and weapons
    "毒品", "冰毒", "海洛因", "大麻", "摇头丸", "枪支", "仿真枪", "管制刀具",
    # fraud and spam
    "代开发票", "办假证", "刷单", "刷信誉", "套现", "贷款秒批", "无抵押贷款", "洗钱",
    "兼职日结", "加微信领", "高额返利", "传销",
    # obscenity
    "色情", "裸聊", "约炮", "援交", "一夜情",
)  # fmt: skip


def load_sensitive_words(path: Path | None = None) -> SensitiveWords:
    """The built-in words, and those of the UTF-8 file at ``path``: one a line, blank
    lines and lines starting with ``#`` skipped."""
    words = list(BUILT_IN_WORDS)
    if path is not None:
        for line in path.read_text(encoding="utf-8").splitlines():
            word = line.strip()
            if word and not word.startswith("#"):
                words.append(word)
    return SensitiveWords.of(words)
