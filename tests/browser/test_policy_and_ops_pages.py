"""The policy staff's and ops' pages in a real Chromium: the benchmark with its charts (images the
browser loads under the CSP), the filters and the CSV; a policy change saved and in the change log;
the ops overview; axe-core finds no serious or critical violation on any of them (desktop, 375 px)."""

from __future__ import annotations

from tests.browser.conftest import assert_accessible, log_in

POLICY = "Inloggen als Beleid \\(Groningen\\)"
OPS = "Inloggen als Beheer \\(Groningen\\)"


def test_policy_staff_read_the_benchmark_with_its_charts_and_filter_it(server, browser, screenshots):
    page = log_in(browser, server, POLICY)
    assert page.url.endswith("/policy/benchmark")
    assert page.title() == "Benchmark · Eigen Regie"
    assert page.locator("h2", has_text="(tabel 4.7)").count() == 1
    charts = page.locator("img.chart")
    assert charts.count() == 6
    page.wait_for_load_state("networkidle")
    # Every chart really loaded (the CSP allows img-src 'self'; a blocked image has no natural width).
    widths = charts.evaluate_all("imgs => imgs.map(i => i.complete && i.naturalWidth)")
    assert all(w and w > 0 for w in widths), widths
    assert_accessible(page, screenshots, "policy-benchmark")
    page.select_option("#field-scheme", "pgb_bw")
    page.get_by_role("button", name="Toon").click()
    page.wait_for_load_state()
    assert "scheme=pgb_bw" in page.url and "Pgb begeleid werken" in page.locator("main").inner_text()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download als CSV (Excel)").click()
    assert download.value.suggested_filename.endswith(".csv")
    # A wrong period: the error is next to its field, and the page stays accessible.
    page.fill("#field-from", "2026-06-01")
    page.fill("#field-to", "2026-01-01")
    page.get_by_role("button", name="Toon").click()
    page.wait_for_load_state()
    assert page.locator("#error-to").is_visible()
    assert page.locator("#field-to").get_attribute("aria-invalid") == "true"
    assert_accessible(page, screenshots, "policy-benchmark-error")


def test_policy_staff_change_a_setting_and_see_it_in_the_change_log(server, browser, screenshots):
    page = log_in(browser, server, POLICY)
    page.get_by_role("link", name="Beleidsregels").click()
    page.wait_for_load_state()
    assert page.url.endswith("/policy/settings")
    assert_accessible(page, screenshots, "policy-settings")
    page.fill("#field-execution_months", "15")
    page.get_by_role("button", name="Opslaan", exact=True).click()
    page.wait_for_load_state()
    assert page.url.endswith("/policy/settings?done=1")
    assert page.get_by_role("status").inner_text().strip() == "De regels zijn opgeslagen."
    log = page.locator("table", has_text="pol-0014").inner_text()
    assert "Looptijd van het plan (maanden): van 12 naar 15" in log
    assert page.locator("#field-execution_months").input_value() == "15"
    assert_accessible(page, screenshots, "policy-settings-saved")


def test_ops_sees_the_health_outbox_dead_letters_webhooks_and_mail(server, browser, screenshots):
    page = log_in(browser, server, OPS)
    assert page.url.endswith("/ops")
    main = page.locator("main").inner_text()
    assert "Alles werkt." in main and "Wachtende gebeurtenissen per dienst" in main
    for service in ("intake", "budget", "monitoring", "notifications"):
        assert page.get_by_role("rowheader", name=service, exact=True).count() == 1
    assert "Er zijn geen vastgelopen gebeurtenissen." in main and "Alle webhooks werken." in main
    assert_accessible(page, screenshots, "ops-overview")
