"""Acronyms, accents and Chinese/Japanese/Korean text, end to end through the real CLI.

One local feed holds each case and its decoy; one rule per case alerts to a
local json:// endpoint; `reader fetch` matches them all as one batch, so the
alerts say which articles each rule fired on (the in-memory batch path), and
`reader rules list`/`search` say the same through the index (the search path).
The articles are unlike each other, so that no two join one story (a rule
alerts once per story).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from whoosh.fields import TEXT, Schema
from whoosh.index import create_in

from reader.config import BUNDLED_RULES
from reader.index import INDEXNAME
from tests.clirun import reader
from tests.feedgen import Item, recent, rss
from tests.httpserver import HTTPServer, Response

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}

# title -> summary (the article's text: the feed is fetched without pages)
ARTICLES = {
    # acronyms and their decoys
    "BIS adds Chinese chip makers to the Entity List": "The Bureau of Industry and Security (BIS) acted on Monday.",
    "Ten BI dashboards that run on a GPU": "Business intelligence tools, bis repetita: the bi-weekly chip roundup.",
    "US tightens rules on chip exports": "Washington said the US would act.",
    "Ask us anything about batteries": "Write to us.",
    "IT budgets shrink as chip costs rise": "Corporate IT teams cut spending.",
    "It is a chip, and it is fast": "it works, it really does",
    "EU fines a chip maker": "The EU Commission acted.",
    "Eu sou um chip: a Portuguese pop song": "eu e tu, e o éu",
    "THEY TOLD US IT IS THE FASTEST CHIP": "The vendor's newsletter shouted this headline.",
    "Nvidia readies the H20 for China": "Lab notes: the h20 sample is not water.",
    "DeepSeek faces new export controls": "The controls hit DeepSeek's chip supply.",
    # the bundled China AI policy rule: AI, ai, and a headline in capitals
    "Beijing publishes AI rules for chatbots": "The Cyberspace Administration of China issued the policy.",
    "Chinese cooks on the ai of food: no rules": "Ai means love in Japanese.",
    "CHINA SETS NEW AI RULES FOR CHATBOTS": "A wire headline, shouted.",
    # Chinese, Japanese, Korean, mixed
    "美国商务部宣布对华为实施新的出口管制": "华为表示将继续为客户提供服务。",
    "华盛顿为此发表声明": "出口增长，管制放松。",
    "DeepSeek 发布 R2 模型": "DeepSeek在北京发布了新的推理模型。",
    "The R2 robot vacuum, reviewed": "A quiet cleaner for small flats.",
    "政府は半導体の輸出規制を強化": "メーカーへの影響は大きい。",
    "半分は導体でできている": "実験の記録。",
    "삼성전자가 반도체 수출을 늘렸다": "업계 소식.",
    "반도 체류 안내": "한반도 여행 정보.",
    # accents both ways
    "La Commission européenne renforce les contrôles à l'exportation": "Une approche naïve.",
    "Les controles douaniers sans accents": "europeenne, Ubersee: ecrit sans accents.",
    "Les contrats et la controverse": "Rien sur les douanes.",
    "Der Übersee-Handel wächst an der Straße": "Ein Bericht über die Øresund-Brücke.",
}

# rule name -> (query, the titles it must alert on: every other article is its decoy)
CASES = {
    "bis": ("BIS", {"BIS adds Chinese chip makers to the Entity List"}),
    "us": ("US", {"US tightens rules on chip exports"}),
    "it": ("IT", {"IT budgets shrink as chip costs rise"}),
    "eu": ("EU", {"EU fines a chip maker"}),
    "h20-in-titles": ("title:H20", {"Nvidia readies the H20 for China"}),
    "us-lowercase": ("us", {"US tightens rules on chip exports", "Ask us anything about batteries",
                            "THEY TOLD US IT IS THE FASTEST CHIP"}),
    "shouted-words": ("told AND fastest", {"THEY TOLD US IT IS THE FASTEST CHIP"}),
    "huawei-export-controls": ("华为 AND 出口管制", {"美国商务部宣布对华为实施新的出口管制"}),
    "huawei": ("华为", {"美国商务部宣布对华为实施新的出口管制"}),
    "export-controls-zh": ('"出口管制"', {"美国商务部宣布对华为实施新的出口管制"}),
    "deepseek-fabu": ("DeepSeek 发布", {"DeepSeek 发布 R2 模型"}),
    "fabu-r2": ('"发布 R2"', {"DeepSeek 发布 R2 模型"}),
    "r2": ("R2", {"DeepSeek 发布 R2 模型", "The R2 robot vacuum, reviewed"}),
    "semiconductors-ja": ("半導体", {"政府は半導体の輸出規制を強化"}),
    "semiconductors-ko": ("반도체", {"삼성전자가 반도체 수출을 늘렸다"}),
    "char-ending-a-word": ("型", {"DeepSeek 发布 R2 模型"}),
    "char-starting-words": ("华", {"美国商务部宣布对华为实施新的出口管制", "华盛顿为此发表声明"}),
    # (stemmed too: "controls" in English is the same word)
    "controles": ("controles", {"La Commission européenne renforce les contrôles à l'exportation",
                                "Les controles douaniers sans accents", "DeepSeek faces new export controls"}),
    "controles-accented": ("contrôles", {"La Commission européenne renforce les contrôles à l'exportation",
                                         "Les controles douaniers sans accents", "DeepSeek faces new export controls"}),
    "europeenne": ("europeenne", {"La Commission européenne renforce les contrôles à l'exportation",
                                  "Les controles douaniers sans accents"}),
    "ubersee": ("Ubersee", {"Les controles douaniers sans accents", "Der Übersee-Handel wächst an der Straße"}),
    "naive": ("naive", {"La Commission européenne renforce les contrôles à l'exportation"}),
    "strasse": ("strasse", {"Der Übersee-Handel wächst an der Straße"}),
    "oresund": ("oresund", {"Der Übersee-Handel wächst an der Straße"}),
}
BUNDLED = {
    "chip-export-controls": {"BIS adds Chinese chip makers to the Entity List", "DeepSeek faces new export controls"},
    "deepseek-export-controls": {"DeepSeek faces new export controls"},
    "china-ai-policy": {"Beijing publishes AI rules for chatbots"},  # a saved search: counted, never alerted
}


class World:
    def __init__(self, root: Path, server: HTTPServer):
        self.data, self.config, self.server = root / "data", root / "config", server
        self.posts: list[dict] = []
        server.route("/hook", handler=self._hook)
        self.hook = f"json://{server.host}:{server.port}/hook"

    def _hook(self, _seen) -> Response:
        return Response(200, b"ok")

    def cli(self, *args: str):
        run = reader(*args, data=self.data, config=self.config)
        assert run.code == 0, run.err
        return run

    def received(self) -> list[dict]:
        return [json.loads(body) for path, _headers, body in list(self.server.posted) if path == "/hook"]


def serve_feed(server: HTTPServer, articles: dict[str, str]) -> str:
    items = [Item(title, f"http://{server.host}:{server.port}/a/{n}", summary, published=recent(2))
             for n, (title, summary) in enumerate(articles.items())]  # fmt: skip
    return server.route("/feed.xml", rss(items, title="World Wire"), headers=RSS)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    server = HTTPServer()
    w = World(tmp_path_factory.mktemp("languages"), server)
    rules = w.config / "rules"
    rules.mkdir(parents=True)
    for path in BUNDLED_RULES.glob("*.toml"):
        shutil.copy(path, rules / path.name)
    for name, (query, _expected) in CASES.items():
        (rules / f"{name}.toml").write_text(f"query = {json.dumps(query, ensure_ascii=False)}\nnotify = ['{w.hook}']\n")
    w.cli("feeds", "add", serve_feed(server, ARTICLES))
    w.cli("fetch", "--no-fulltext")
    yield w
    server.close()


def alerted(world: World) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for alert in world.cli("alerts", "--json", "--limit", "1000").json():
        found.setdefault(alert["rule"], set()).add(alert["title"])
    return found


def test_each_rule_fires_on_its_case_and_never_on_a_decoy(world):
    """Each rule alerts on exactly its cases (the articles are unlike each other, so each is a
    story of its own and alerts once) and never on a decoy."""
    found = alerted(world)
    for name, (query, expected) in CASES.items():
        assert found.get(name, set()) == expected, f"{name}: {query}"


def test_the_bundled_rules_against_acronyms_and_their_decoys(world):
    found = alerted(world)
    assert found.get("chip-export-controls", set()) == BUNDLED["chip-export-controls"]  # not "BI dashboards"
    assert found.get("deepseek-export-controls", set()) == BUNDLED["deepseek-export-controls"]
    china = world.cli("rules", "test", "china-ai-policy", "--json").json()
    assert {m["title"] for m in china["matches"]} == BUNDLED["china-ai-policy"]  # not "ai", not shouted AI


def test_searching_finds_what_the_rules_matched(world):
    """The index's search path agrees with the alerts' batch path, rule by rule."""
    counts = {entry["name"]: entry["matches"] for entry in world.cli("rules", "list", "--json").json()}
    for name, (_query, expected) in CASES.items():
        assert counts[name] == len(expected), name
    assert counts["china-ai-policy"] == 1


def test_a_chinese_rule_alerts_through_the_endpoint_with_the_word_marked(world):
    sent = [n for n in world.received() if n["title"].startswith("huawei-export-controls:")]
    assert [n["title"] for n in sent] == ["huawei-export-controls: 美国商务部宣布对华为实施新的出口管制"]
    assert "*华为*表示将继续为客户提供服务。" in sent[0]["message"]  # (json://: plain text, words marked)


def search(world: World, query: str) -> list[dict]:
    return world.cli("search", query, "--json").json()


@pytest.mark.parametrize(("query", "title", "marked"), [
    ("华为", "美国商务部宣布对华为实施新的出口管制", "**华为**"),
    ('"出口管制"', "美国商务部宣布对华为实施新的出口管制", "**出口管制**"),
    ("型", "DeepSeek 发布 R2 模型", "模**型**"),
    ("controles", "La Commission européenne renforce les contrôles à l'exportation", "**contrôles**"),
    ("title:H20", "Nvidia readies the H20 for China", "the **H20** for"),
    ("BIS", "BIS adds Chinese chip makers to the Entity List", "(**BIS**)"),
])  # fmt: skip
def test_snippets_mark_the_word_itself(world, query, title, marked):
    results = search(world, query)
    snippet = next(r["snippet"] for r in results if r["title"] == title)
    assert marked in snippet
    assert snippet.count("**") == 2 * snippet.count(marked)  # nothing else is marked


def test_explain_and_check_teach_the_acronym_rule(world):
    explained = world.cli("rules", "explain", "bis").out
    assert 'acronym "BIS" (case kept, not stemmed)' in explained
    rules = world.config / "rules"
    (rules / "lowercase-bis.toml").write_text("query = 'bis AND chip'\nnotify = []\n")
    (rules / "lowercase-us.toml").write_text("query = 'us AND chip'\n")
    try:
        checked = reader("rules", "check", data=world.data, config=world.config)
    finally:
        (rules / "lowercase-bis.toml").unlink()
        (rules / "lowercase-us.toml").unlink()
    assert checked.code == 0
    assert "lowercase-bis.toml:1: warning: 'bis' is searched as its stem \"bi\"" in checked.out
    assert "or write BIS for the acronym only" in checked.out
    assert "lowercase-us.toml:1: warning: 'us' is a very short word not in capitals" in checked.out
    assert "write US to match only the acronym" in checked.out
    analysis = [line for line in checked.out.splitlines()
                if any(s in line for s in ("searched as", "short word", "in capitals"))]  # fmt: skip
    others = [line for line in analysis if "lowercase-" not in line and "us-lowercase.toml" not in line]
    assert others == []  # not the bundled rules, nor the cases above


def test_an_index_of_the_old_format_refills_itself_from_the_store(tmp_path, http_server):
    """An upgrade: the store holds the articles, the index is of an older analyzer version."""
    w = World(tmp_path, http_server)
    w.cli("feeds", "add", serve_feed(http_server, {"BIS acts": "The rules.", "Ten BI dashboards": "bis repetita"}))
    w.cli("fetch", "--no-fulltext")
    index_dir = w.data / "index"
    shutil.rmtree(index_dir)
    index_dir.mkdir()
    create_in(str(index_dir), Schema(title=TEXT()), indexname="articles_v2")  # what the previous version left
    run = w.cli("search", "BIS", "--json")
    assert [r["title"] for r in run.json()] == ["BIS acts"]
    assert "refilling the search index from the database: 2 articles" in run.err
    assert not [p for p in index_dir.iterdir() if "articles_v2" in p.name]
    assert any(INDEXNAME in p.name for p in index_dir.iterdir())
    assert "refilling" not in w.cli("search", "BIS").err  # once
