"""`|`: hand an article's text to a command (newsboat's pipe-to), e.g. a pager, `mail`, `tee notes.txt`.

The command is the user's own (`[ui] pipe`, else $PAGER, else less) and runs
through the shell; the article is only its standard input, cleaned of control
characters, and never part of the command line.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping

from textual.app import App, SuspendNotSupported

from ..config import Settings
from ..models import Article
from ..text import clean_line, clean_text


def pipe_command(settings: Settings, environ: Mapping[str, str] = os.environ) -> str:
    return settings.ui.pipe or environ.get("PAGER", "").strip() or "less"


def article_text(article: Article) -> str:
    """What is piped: title, feed and date, link, then the text (Markdown, links kept)."""
    head = [clean_line(article.title) or "(no title)",
            " · ".join(p for p in (clean_line(article.feed_title), clean_line(article.author),
                                   article.date.astimezone().strftime("%Y-%m-%d %H:%M")) if p),
            clean_line(article.link, 2000)]  # fmt: skip
    body = clean_text(article.markdown or article.text)
    return "\n".join(line for line in head if line) + "\n\n" + body.rstrip() + "\n"


def pipe_article(app: App, article: Article, settings: Settings) -> None:
    """Run the pipe command with the article on stdin; the terminal is the command's while it runs."""
    command = pipe_command(settings)

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(command, shell=True, input=article_text(article).encode("utf-8"), check=False)

    try:
        try:
            with app.suspend():
                done = run()
        except SuspendNotSupported:  # no terminal to hand over (a test, the web driver)
            done = run()
    except OSError as exc:
        app.notify(f"{command}: {exc.strerror}", title="Not piped", severity="error", markup=False)
        return
    if done.returncode:
        app.notify(f"{command} exited with status {done.returncode}. [ui] pipe in config.toml chooses the command.",
                   title="Pipe", severity="warning", markup=False)  # fmt: skip
