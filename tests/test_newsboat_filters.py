"""newsboat filter expressions -> the query language: what translates, and why the rest does not."""

from __future__ import annotations

import pytest

from reader.index import parse_query
from reader.newsboat_filters import Untranslatable, translate


def groups_are(*tags: str):
    """A tag check where exactly `tags` are groups of every feed that carries them."""
    return lambda tag: None if tag in tags else "is not the group of every feed that carries it"


@pytest.mark.parametrize(
    ("expression", "query"),
    [
        ('title =~ "DeepSeek"', "title:deepseek"),  # newsboat ignores case
        ('title =~ "export  controls"', 'title:"export controls"'),
        ("title =~ \"Don't panic\"", "title:\"don't panic\""),
        ('content =~ "chips"', "text:chips OR summary:chips"),
        ('author =~ "Ada Lovelace"', 'author:"ada lovelace"'),
        ('feedtitle =~ "Ars"', "feed:ars"),
        ('title !~ "sponsored"', "NOT title:sponsored"),
        ('tags # "tech"', 'group:"tech"'),
        ('tags !# "tech"', 'NOT group:"tech"'),
        ("age < 7", "date:7d"),
        ("age <= 7", "date:8d"),  # age is whole days: age <= 7 is age < 8
        ("age > 30", "NOT date:31d"),
        ("age >= 30", "NOT date:30d"),
        ("age between 2:7", "date:8d AND NOT date:2d"),
        ("age between 7:0", "date:8d"),
        ('title =~ "a" and title =~ "b"', "title:a AND title:b"),
        # newsboat nests to the right with no precedence: "a and b or c" is "a and (b or c)"
        ('title =~ "a" and title =~ "b" or title =~ "c"', "title:a AND (title:b OR title:c)"),
        ('(title =~ "a" and title =~ "b") or title =~ "c"', "(title:a AND title:b) OR title:c"),
        ('( tags # "tech" or age<3 )and author =~ "x"', '(group:"tech" OR date:3d) AND author:x'),
    ],
)
def test_faithful_translations(expression, query):
    assert translate(expression, groups_are("tech")) == query
    parse_query(query)  # and the query language reads it


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ('unread = "yes"', "the query language has no unread term"),
        ('title = "Exact title"', "'title =' compares the whole field; the query language matches words"),
        ('title != "x"', "'title !=' compares the whole field"),
        ('title =~ "^Show HN"', '"^Show HN" is a regular expression, not a plain word or phrase'),
        ('title =~ "chips?"', "is a regular expression"),
        ('title =~ "a.b"', "is a regular expression"),
        ('title =~ "say \\"hi\\""', "is a regular expression"),
        ('link =~ "example"', "attribute 'link' has no counterpart in the query language"),
        ('flags # "s"', "attribute 'flags' has no counterpart"),
        ('tags # "hardware"', "the tag 'hardware' is not the group of every feed that carries it"),
        ('tags =~ "tech"', "'tags =~' has no counterpart; tags translate only with '#' and '!#'"),
        ("age = 3", "'age =' has no counterpart"),
        ("age < 0", "an age of 0 days is outside 1..36500"),
        ('title =~ 5', "is a regular expression"),
        ('title =~ "a" and unread = "no"', "the query language has no unread term"),
        ('title =~ "x" and (', "a comparison is cut short"),
        ('(title =~ "x"', "a '(' is never closed"),
        ('title =~ "x" nand age < 3', "unexpected 'nand'"),
        ("title ~= 'x'", "not a newsboat filter expression"),
    ],
)
def test_everything_else_is_refused_with_its_reason(expression, reason):
    with pytest.raises(Untranslatable) as refused:
        translate(expression, groups_are("tech"))

    assert reason in str(refused.value)


def test_long_chains_are_flat_and_deep_or_huge_expressions_are_refused():
    chain = " and ".join(f'title =~ "w{k}"' for k in range(150))
    assert translate(chain, groups_are()) == " AND ".join(f"title:w{k}" for k in range(150))
    parse_query(translate(chain, groups_are()))

    with pytest.raises(Untranslatable, match="^201 comparisons; a saved search holds at most 200$"):
        translate(" or ".join(['age < 3'] * 201), groups_are())
    with pytest.raises(Untranslatable, match="^parentheses nested deeper than 64$"):
        translate("(" * 65 + "age < 3" + ")" * 65, groups_are())
    assert translate("(" * 64 + "age < 3" + ")" * 64, groups_are()) == "date:3d"
