"""Stage 04 on the tiny demo shop's page: the Behaviour and Sales pipeline sections with their sentences
as the facts say, and a re-run without events (leads only) that drops the behaviour section and keeps the
pipeline, leaving no product of the earlier run behind."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

from test_catalog import copy_of, run

from helpers import behaviour, catalog, io, pipeline

from conftest import DEMO, DEMO_KEY, DEMO_KEY_ENV, DEMO_PERIOD, products, report_folder


def page_text(root: Path) -> str:
    page = (report_folder(root, DEMO_PERIOD, DEMO) / "index.html").read_text()
    return html.unescape(re.sub(r"<[^>]+>", " ", page.split("</style>")[-1]))


def test_the_demo_page_shows_behaviour_and_the_pipeline_as_the_facts_say(built_tiny: Path) -> None:
    folder = products(built_tiny, DEMO_PERIOD, DEMO)
    facts = io.read_json(folder / catalog.file_of("behaviour_facts"))
    text = page_text(built_tiny)
    assert "Behaviour" in text and "Sales pipeline" in text
    assert behaviour.drop_sentence(facts, "en") in " ".join(text.split())
    assert pipeline.bottleneck_sentence(facts, "en") in " ".join(text.split())
    funnel = io.read_parquet(folder / catalog.file_of("funnel"))
    first = funnel[(funnel["group_kind"] == "all") & (funnel["step_no"] == 1)]["sessions"].iloc[0]
    assert first == facts["funnel_first_step_sessions"]
    assert not re.search(r"Traceback|Error", text)


def test_a_re_run_with_leads_but_no_events_shows_only_the_pipeline(built_tiny: Path, tmp_path: Path) -> None:
    root = copy_of(built_tiny, tmp_path)
    folder = products(root, DEMO_PERIOD, DEMO)
    (folder / catalog.file_of("clean:events")).unlink()
    os.environ[DEMO_KEY_ENV] = DEMO_KEY
    try:
        done = run(root, "--dataset", DEMO, "--only", "04")
    finally:
        del os.environ[DEMO_KEY_ENV]
    assert done.returncode == 0, done.stdout + done.stderr
    facts = io.read_json(folder / catalog.file_of("behaviour_facts"))
    assert not facts["has_events"] and facts["has_leads"] and facts["bottleneck"] is not None
    for product in ("engagement", "funnel", "search_terms", "activity", "page_heat", "channel_mix"):
        assert not (folder / catalog.file_of(product)).exists(), product  # nothing left of the last run
    text = page_text(root)
    assert "Sales pipeline" in text and pipeline.bottleneck_sentence(facts, "en") in " ".join(text.split())
    page = (report_folder(root, DEMO_PERIOD, DEMO) / "index.html").read_text()
    assert 'id="Behaviour"' not in page and "#Behaviour" not in page
