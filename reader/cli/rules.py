"""`reader rules`: check, list, explain and backtest the rule files. It never sends a notification.

Every command first seeds a new rules directory with the bundled examples,
then loads it with `reader.rules.load_rules`, the loader the daemon uses, and
matches with the same parser, index and feed restrictions as alerts do.
Notification URLs are shown only redacted.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from .. import console
from typing import TYPE_CHECKING
from ..store import ArticleFilter
from ..text import clean_text
from .context import LIMIT, Context, UsageError
from .searching import catch_up_index, marked, marked_plain

if TYPE_CHECKING:  # Whoosh and Apprise load only when a rules command runs (start-up time)
    from ..alerts import RuleError
    from ..index import ParsedQuery, SearchIndex
    from ..rules import Problem, Rule, RuleSet

BACKTEST_DAYS = (7, 30)


COMMANDS = ("rules",)  # the commands `register` adds (the CLI builds only the one asked for)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rules", help="check, list, explain and test alert rules and saved searches")
    rsub = p.add_subparsers(dest="rules_command", metavar="ACTION", required=True)

    r = rsub.add_parser("check", help="validate every rule file; exit 1 if any has an error")
    r.set_defaults(func=check)

    r = rsub.add_parser("list", help="each rule with its kind, targets (redacted), matches and last alert")
    r.add_argument("--json", action="store_true", help="one JSON array of rules")
    r.set_defaults(func=list_rules)

    r = rsub.add_parser("explain", help="print a rule's query as the search engine reads it")
    _add_rule_or_query(r)
    r.set_defaults(func=explain_rule)

    r = rsub.add_parser("test", help="backtest a rule: what it would have matched in the last 7 and 30 days")
    _add_rule_or_query(r)
    r.add_argument("--limit", type=LIMIT, default=10, metavar="N", help="top matches to show (default 10)")
    r.add_argument("--json", action="store_true", help="counts and matches as one JSON object")
    r.set_defaults(func=test_rule)


def _add_rule_or_query(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", metavar="NAME", help="a rule's name (its file name without .toml)")
    p.add_argument("--query", "-q", metavar="QUERY", help="a query not saved as a rule yet")


# -- loading ----------------------------------------------------------------------------------


def load(ctx: Context) -> RuleSet:
    """The rules directory, seeded with the bundled examples when it is new."""
    from ..rules import load_rules, seed_rules

    settings = ctx.settings
    made = seed_rules(settings.rules_dir)
    if made:
        console.err.print(console.safe(f"created {settings.rules_dir} with {len(made)} example rules"))
    return load_rules(settings.rules_dir, apprise_config=settings.alerts.apprise_config)


def _chosen(args, ctx: Context) -> tuple[Rule | None, ParsedQuery]:
    """The rule named on the command line, or the --query given instead (rule None)."""
    from ..index import QueryError, parse_query

    if (args.name is None) == (args.query is None):
        raise UsageError("give a rule NAME or --query QUERY (one of the two)")
    if args.query is not None:
        try:
            query = parse_query(args.query)
        except QueryError as exc:
            raise UsageError(str(exc)) from None
        for warning in query.warnings:
            console.warn(warning)
        return None, query
    ruleset = load(ctx)
    rule = ruleset.rule(args.name)
    if rule is not None:
        return rule, rule.query
    broken = [p for p in ruleset.problems if p.path.stem == args.name]
    if broken:
        _print_problems(broken)
        raise UsageError(f"the rule '{args.name}' has errors (above); fix them, then try again")
    names = ", ".join(r.name for r in ruleset.rules) or "none"
    raise UsageError(f"no rule named '{args.name}' in {ctx.settings.rules_dir} (rules: {names})")


def _restriction(ctx: Context, rule: Rule | None) -> set[int] | None:
    """The article ids a rule may match, by its feeds/groups; None when it may match any."""
    from ..rules import allowed_feed_ids

    if rule is None:
        return None
    feed_ids = allowed_feed_ids(rule, ctx.store.feeds())
    if feed_ids is None:
        return None
    return ctx.store.article_ids_in(ArticleFilter(feed_ids=sorted(feed_ids))) if feed_ids else set()


# -- check ------------------------------------------------------------------------------------


def check(args, ctx: Context) -> int:
    from ..rules import source_problems

    ruleset = load(ctx)
    problems = list(ruleset.problems)
    if ctx.settings.db_path.exists():  # restrictions are checked against the feeds, if there are any yet
        feeds = ctx.store.feeds()
        problems += [p for rule in ruleset.rules for p in source_problems(rule, feeds)]
    _print_problems(problems, to_stdout=True)
    errors = sum(p.severity == "error" for p in problems)
    broken = len({p.path for p in problems if p.severity == "error"})
    warnings = len(problems) - errors
    summary = f"{console.plural(len(ruleset.rules), 'rule')} OK"
    if broken:
        summary += f", {broken} with errors (left out)"
    if warnings:
        summary += f", {console.plural(warnings, 'warning')}"
    console.out.print(console.safe(f"{summary} in {ctx.settings.rules_dir}"))
    return 1 if errors else 0


def _print_problems(problems: list[Problem], *, to_stdout: bool = False) -> None:
    """One problem per entry; a query error keeps its caret lines under the message."""
    target = console.out if to_stdout else console.err
    for problem in problems:
        style = "red" if problem.severity == "error" else "yellow"
        target.print(console.Text(clean_text(str(problem)), style=style))


# -- list -------------------------------------------------------------------------------------


Col = console.Col
RULE_COLUMNS = [Col("name"), Col("kind"), Col("on"), Col("matches"), Col("last alert", drop=2),
                Col("notify", flex=1, drop=3), Col("query", flex=3)]  # fmt: skip


def list_rules(args, ctx: Context) -> int:
    from ..alerts import rule_errors

    ruleset = load(ctx)
    index = catch_up_index(ctx)
    failing = rule_errors(ctx.store) if ctx.settings.db_path.exists() else {}
    entries = [_summary(ctx, index, rule, failing.get(rule.name)) for rule in ruleset.rules]
    if args.json:
        console.print_json(entries)
    elif entries:
        rows = [(e["name"], e["kind"], "yes" if e["enabled"] else "no", "error" if e["error"] else e["matches"],
                 console.local_time(e["last_alert"]) if e["last_alert"] else "", ", ".join(e["notify"]), e["query"])
                for e in entries]  # fmt: skip
        console.out.print(console.table(RULE_COLUMNS, rows))
    else:
        console.out.print(console.safe(f"No rules in {ctx.settings.rules_dir}."))
    for e in entries:
        if e["error"]:
            console.warn(f"rule {e['name']} failed while matching ({console.local_time(e['error_at'])}) and is left "
                         f"out of each batch until it matches again: {e['error']}")  # fmt: skip
    if ruleset.errors:
        broken = len({p.path for p in ruleset.errors})
        console.warn(f"{broken} rule file(s) have errors and are left out; see 'reader rules check'")
    return 0


def _summary(ctx: Context, index: SearchIndex, rule: Rule, failed: RuleError | None) -> dict:
    from ..alerts import describe_failure

    error, error_at = (failed.error, failed.at) if failed else (None, None)
    try:
        matches = index.count(rule.query, restrict=_restriction(ctx, rule))
    except Exception as exc:  # noqa: BLE001 - one rule that cannot be searched must not hide the others
        matches, error, error_at = None, describe_failure(exc), error_at or datetime.now(UTC)
    return {
        "name": rule.name, "title": rule.display_title, "kind": "saved search" if rule.is_saved_search else "alert",
        "enabled": rule.enabled, "mode": rule.mode, "notify": list(rule.redacted_notify),
        "query": " ".join(rule.query_text.split()), "matches": matches,
        "last_alert": _last_alert(ctx, rule), "path": str(rule.path),
        "error": error, "error_at": error_at,  # why it was left out of matching, when it raised
    }  # fmt: skip


def _last_alert(ctx: Context, rule: Rule) -> datetime | None:
    newest = ctx.store.recent_alerts(limit=1, rule=rule.name)
    return newest[0].created_at if newest else None


# -- explain ----------------------------------------------------------------------------------


def explain_rule(args, ctx: Context) -> int:
    from ..index import explain

    rule, query = _chosen(args, ctx)
    if rule is not None:
        for line in _rule_facts(ctx, rule):
            console.out.print(console.safe(line))
    console.out.print(console.Text(clean_text(explain(query))))
    return 0


def _rule_facts(ctx: Context, rule: Rule) -> list[str]:
    """What the rule file says besides its query, in words."""
    from ..rules import allowed_feed_ids

    facts = [f"rule: {rule.name} ({rule.display_title}), {rule.path}"]
    if not rule.enabled:
        facts.append("disabled: it never matches until enabled = true")
    if rule.is_saved_search:
        facts.append("a saved search: it collects matches and notifies nobody")
    else:
        facts.append(f"notifies: {', '.join(rule.redacted_notify)}")
        zone = rule.timezone or "local time"
        if rule.mode == "digest":
            facts.append(f"a digest at {', '.join(f'{t:%H:%M}' for t in rule.digest_at)} ({zone})")
        else:
            facts.append("each match as it arrives")
        if rule.quiet_hours:
            facts.append(f"quiet from {rule.quiet_hours.start:%H:%M} to {rule.quiet_hours.end:%H:%M} ({zone})")
    if rule.feeds or rule.groups:
        allowed = allowed_feed_ids(rule, ctx.store.feeds()) or ()
        named = [f"{key}: {', '.join(values)}" for key, values in (("feeds", rule.feeds), ("groups", rule.groups)) if values]
        facts.append(f"only articles of {len(allowed)} feed(s), named by {'; '.join(named)}")
    return facts


# -- test (backtest) --------------------------------------------------------------------------


def test_rule(args, ctx: Context) -> int:
    from ..index import article_snippet

    rule, query = _chosen(args, ctx)
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    index = catch_up_index(ctx)
    restrict = _restriction(ctx, rule)
    recent = {days: _within_days(query, days) for days in BACKTEST_DAYS}
    counts = {f"{days}d": index.count(q, restrict=restrict) for days, q in recent.items()}
    counts["all"] = index.count(query, restrict=restrict)
    hits = index.search(recent[max(BACKTEST_DAYS)], limit=args.limit, restrict=restrict)
    articles = ctx.store.articles_by_ids([h.article_id for h in hits], with_text=True)
    matches = [(a, article_snippet(query, a)) for h in hits if (a := articles.get(h.article_id))]
    if args.json:
        console.print_json({
            "rule": rule.name if rule else None, "query": query.text, "counts": counts,
            "matches": [{"id": a.id, "title": a.title, "feed": a.feed_title, "published": console.iso(a.date),
                         "link": a.link, "snippet": marked_plain(snip)} for a, snip in matches],
        })  # fmt: skip
        return 0
    _print_backtest(rule, query, counts, matches)
    return 0


def _within_days(query: ParsedQuery, days: int) -> ParsedQuery:
    """The query limited to articles of the last `days` days, in the query language itself."""
    from ..index import QueryError, parse_query

    try:
        return parse_query(f"({query.text}) AND date:{days}d")
    except QueryError as exc:  # at the depth limit already: the parentheses added here are one level too many
        raise UsageError(f"this query cannot be backtested by date: {exc.message}") from None


def _print_backtest(rule: Rule | None, query: ParsedQuery, counts: dict[str, int], matches: list) -> None:
    name = f"{rule.name} ({rule.display_title})" if rule else " ".join(query.text.split())
    console.out.print(console.safe(name, "bold"))
    console.out.print(console.safe(
        f"would have matched {console.plural(counts['7d'], 'article')} in the last 7 days, "
        f"{counts['30d']} in the last 30 days ({counts['all']} among all stored articles)"
    ))  # fmt: skip
    if not matches:
        return
    console.out.print()
    console.out.print(console.safe("Top matches of the last 30 days:", "bold"))
    for a, snip in matches:
        console.out.print(console.safe(a.title or "(no title)", "bold") + console.safe(f"  [{a.id}]", "dim"))
        console.out.print(console.safe(f"{a.feed_title} · {console.local_time(a.date)} · {a.link}", "dim"))
        console.out.print(marked(snip))
        console.out.print()
