"""Reviews from the console: the demo's review listed with its product's average,
answered once for its seller; refusals with their codes."""

from __future__ import annotations

import injector

from tests.integration.test_cli_ordering import data, refused, run


def test_the_demo_review_is_listed_and_answered(app: injector.Injector) -> None:
    made = data(app, "demo")
    review_id = made["community_life"]["review_id"]
    merchant_page = data(app, "reviews", "list", "--merchant", "demo-housekeeping")
    assert (merchant_page["rating"], merchant_page["reviews"]) == (None, [])
    orders = data(app, "orders", "show", made["orders"][0]["id"])
    product = orders["lines"][0]["product_id"]
    page = data(app, "reviews", "list", "--product", product)
    assert (page["rating"], page["rating_count"]) == ("5.0", 1)
    assert [r["id"] for r in page["reviews"]] == [review_id]
    shown = run(app, "reviews", "list", "--product", product)
    assert "rating 5.0 from 1 review(s)" in shown.stdout and "★★★★★" in shown.stdout
    assert run(app, "reviews", "answer", review_id, "--text", "感谢光临").exit_code == 0
    assert data(app, "reviews", "list", "--product", product)["reviews"][0]["answer"] == "感谢光临"
    refused(run(app, "reviews", "answer", review_id, "--text", "再谢"), 65, "illegal-transition")
    refused(run(app, "reviews", "answer", "nope", "--text", "x"), 66, "review-not-found")
    refused(run(app, "reviews", "list"), 65, "invalid-input")
    refused(run(app, "reviews", "list", "--product", "nope"), 66, "product-not-found")
