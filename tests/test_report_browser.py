"""report.html in real headless Chromium: renders, no console errors, no network requests, screenshot saved."""

from __future__ import annotations

from pathlib import Path

import pytest

from groomguard.evaluation.config import EvalConfig
from groomguard.evaluation.runner import evaluate_bundle
from tests.support.browser import chromium, sync_api_or_skip, watch
from tests.support.eval_data import write_labelled

pytestmark = pytest.mark.browser


def test_report_renders_offline_in_chromium(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    sync_api = sync_api_or_skip()

    test = write_labelled(tmp_path / "test.jsonl", 30, seed=3)
    train = write_labelled(tmp_path / "train.jsonl", 80, seed=4)
    cfg = EvalConfig()
    cfg.bootstrap.resamples = 30
    cfg.engine.providers = ["CPUExecutionProvider"]
    out = tmp_path / "report"
    metrics = evaluate_bundle(tiny_bundle_dir, test, out, train, config=cfg, target_precision=0.5)
    report = out / "report.html"

    with chromium(sync_api) as browser:
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        seen = watch(page)
        page.goto(report.as_uri(), wait_until="load")
        assert page.title().startswith("groomguard evaluation")
        # every figure decoded and laid out (a broken data: URI has naturalWidth 0)
        widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
        assert len(widths) >= 4 and all(w > 100 for w in widths)
        rows = page.locator("table").nth(1).locator("tbody tr")
        assert rows.count() == 3  # model + two baselines
        assert metrics["models"]["model"]["label"] in rows.nth(0).inner_text()
        assert page.get_by_text("Sensitive:").is_visible()
        page.locator("details summary").first.click()  # worst errors expand to show the chat
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert seen.console_errors == [] and seen.page_errors == []
    # the page itself is the only request: images are inline data, no fonts/scripts/CSS fetched
    assert [u for u in seen.requests if not u.startswith("data:")] == [report.as_uri()]
