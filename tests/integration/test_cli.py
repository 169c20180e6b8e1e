"""The CLI through click's CliRunner, and once as the installed `shequ` in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import injector
import pytest
from click.testing import CliRunner, Result

from shequ import Settings
from shequ.adapters.clock import FixedClock
from shequ.entrypoints.cli import cli
from tests.support import container


@pytest.fixture
def app(tmp_path: Path, clock: FixedClock) -> injector.Injector:
    return container(
        Settings(database_url=f"sqlite:///{tmp_path / 'cli.db'}", password_profile="cheap"), clock
    )


def run(app: injector.Injector, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), obj=app, catch_exceptions=False)


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout)


def error_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert lines, "expected an error line on stderr"
    assert "Traceback" not in result.output + result.stderr
    return lines[0]


@pytest.fixture
def demo(app: injector.Injector) -> dict[str, Any]:
    made: dict[str, Any] = as_json(run(app, "demo", "--json"))
    return made


def test_demo_then_list_shows_the_demo_products(
    app: injector.Injector, demo: dict[str, Any]
) -> None:
    assert demo["created"] is True and demo["products"] == 30
    listing = as_json(run(app, "catalog", "list", "--json"))
    # the thirty, and the cleaning voucher a local merchant sells (本地生活)
    assert len(listing["items"]) == 31 and listing["next_cursor"] is None
    names = {item["name"] for item in listing["items"]}
    assert {"五常大米", "日常保洁 150 元代金券"} <= names
    again = as_json(run(app, "demo", "--json"))
    assert again["created"] is False
    assert len(as_json(run(app, "catalog", "list", "--json"))["items"]) == 31


def test_listing_filters_sorts_and_pages(app: injector.Injector, demo: dict[str, Any]) -> None:
    fruit = as_json(
        run(
            app,
            "catalog",
            "list",
            "--json",
            "--category",
            "生鲜/水果",
            "--in-stock",
            "--sort",
            "price",
        )
    )
    names = [i["name"] for i in fruit["items"]]
    assert names[0] == "海南香蕉" and "丹东草莓" not in names  # out of stock
    first = run(app, "catalog", "list", "--limit", "5", "--sort", "-price")
    assert first.exit_code == 0 and "more: --cursor" in first.stderr
    cursor = first.stderr.split("--cursor ")[1].split()[0]
    second = as_json(
        run(
            app, "catalog", "list", "--json", "--limit", "5", "--sort", "-price", "--cursor", cursor
        )
    )
    assert len(second["items"]) == 5
    human = run(app, "catalog", "list", "--category", "粮油")
    assert human.exit_code == 0 and "五常大米" in human.stdout and "¥" in human.stdout


def test_a_product_is_built_and_its_stock_adjusted(
    app: injector.Injector, demo: dict[str, Any]
) -> None:
    seller = demo["sellers"][0]["id"]
    product = as_json(
        run(
            app,
            "catalog",
            "add-product",
            "--seller",
            seller,
            "--name",
            "紫薯",
            "--category",
            "生鲜/蔬菜",
            "--storage",
            "常温",
            "--shelf-life-days",
            "30",
            "--image",
            "https://img/zishu.jpg",
            "--json",
        )
    )
    assert product["fresh"]["storage"] == "ambient" and product["media"][0]["alt_text"] == "紫薯"
    sku = as_json(
        run(
            app,
            "catalog",
            "add-sku",
            product["id"],
            "--spec",
            "2kg/袋",
            "--price",
            "12.80",
            "--stock",
            "3",
            "--on-sale",
            "--community",
            demo["community"]["id"],
            "--json",
        )
    )
    assert (sku["price_fen"], sku["stock"], sku["on_sale"]) == (1280, 3, True)
    assert as_json(run(app, "catalog", "stock", sku["id"], "--add", "7", "--json"))["stock"] == 10
    assert as_json(run(app, "catalog", "stock", sku["id"], "--set", "8", "--json"))["stock"] == 8
    assert (
        as_json(run(app, "catalog", "price", sku["id"], "--price", "9.9", "--json"))["price"]
        == "¥9.90"
    )
    assert as_json(run(app, "catalog", "off-sale", sku["id"], "--json"))["on_sale"] is False
    shown = run(app, "catalog", "show", product["id"])
    assert shown.exit_code == 0 and "2kg/袋" in shown.stdout and "¥9.90" in shown.stdout
    edited = as_json(
        run(app, "catalog", "edit-product", product["id"], "--origin", "山东", "--json")
    )
    assert edited["origin"] == "山东" and edited["skus"][0]["stock"] == 8


@pytest.mark.parametrize(
    ("args", "code", "exit_code"),
    [
        (
            ["catalog", "add-sku", "{product}", "--spec", "x", "--price", "12.345"],
            "invalid-amount",
            65,
        ),
        (["catalog", "add-sku", "{product}", "--spec", "x", "--price", "-1"], "invalid-amount", 65),
        (
            ["catalog", "add-sku", "{product}", "--spec", "x", "--price", "abc"],
            "invalid-amount",
            65,
        ),
        (["catalog", "add-sku", "nope", "--spec", "x", "--price", "1"], "product-not-found", 66),
        (["catalog", "stock", "nope", "--add", "1"], "sku-not-found", 66),
        (["catalog", "stock", "{sku}", "--remove", "100000"], "out-of-stock", 65),
        (["catalog", "stock", "{sku}", "--add", "0"], "invalid-input", 65),
        (["catalog", "show", "nope"], "product-not-found", 66),
        (["catalog", "list", "--cursor", "tampered.cursor"], "invalid-cursor", 65),
        (["catalog", "list", "--min-price", "9", "--max-price", "1"], "invalid-input", 65),
        (
            ["catalog", "add-product", "--seller", "nobody", "--name", "x", "--category", "y"],
            "seller-not-found",
            66,
        ),
    ],
)
def test_bad_input_is_one_line_and_the_documented_exit_code(
    app: injector.Injector, demo: dict[str, Any], args: list[str], code: str, exit_code: int
) -> None:
    detail = as_json(run(app, "catalog", "list", "--json", "--limit", "1"))["items"][0]
    fill = {"{product}": detail["id"], "{sku}": detail["skus"][0]["id"]}
    result = run(app, *[fill.get(a, a) for a in args])
    assert result.exit_code == exit_code
    assert error_line(result).startswith(f"error[{code}]: ")
    assert result.stdout == ""


def test_usage_mistakes_exit_2(app: injector.Injector) -> None:
    assert run(app, "catalog", "stock", "x").exit_code == 2
    assert run(app, "catalog", "stock", "x", "--set", "3", "--reason", "damage").exit_code == 2
    assert (
        run(
            app, "catalog", "price", "x", "--price", "1", "--list-price", "2", "--no-list-price"
        ).exit_code
        == 2
    )
    assert run(app, "catalog", "nonsense").exit_code == 2


def test_a_database_without_the_schema_says_how_to_fix_it(app: injector.Injector) -> None:
    result = run(app, "catalog", "list")
    assert result.exit_code == 69
    assert error_line(result) == (
        "error[schema-out-of-date]: the database has no shequ schema "
        "or an old one; run `shequ db upgrade`"
    )
    upgraded = run(app, "db", "upgrade")
    assert upgraded.exit_code == 0 and "database schema at 0" in upgraded.stdout
    assert run(app, "catalog", "list").exit_code == 0


CSV_HEADER = "name,brand,category,spec,price,stock,storage\n"


def write_csv(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "catalog.csv"
    path.write_text(CSV_HEADER + "".join(lines), encoding="utf-8-sig")
    return path


def test_importing_a_good_file(
    app: injector.Injector, demo: dict[str, Any], tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path,
        "红薯,,生鲜/蔬菜,2kg/袋,9.90,20,常温\n",
        "红薯,,生鲜/蔬菜,5kg/袋,19.90,5,常温\n",
        '"酱油, 老抽",海天,粮油/调味品,500ml,8,30,\n',
    )
    result = run(
        app,
        "catalog",
        "import",
        str(path),
        "--seller",
        demo["sellers"][0]["id"],
        "--community",
        demo["community"]["id"],
        "--json",
    )
    assert as_json(result) == {"products": 2, "skus": 3, "problems": []}
    listing = as_json(run(app, "catalog", "list", "--json", "--category", "粮油/调味品"))
    assert "酱油, 老抽" in {i["name"] for i in listing["items"]}


def test_a_bad_row_in_the_middle_imports_nothing(
    app: injector.Injector, demo: dict[str, Any], tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path,
        "红薯,,生鲜/蔬菜,2kg/袋,9.90,20,常温\n",
        "土豆,,生鲜/蔬菜,1kg,12.345,5,\n",
        "大蒜,,生鲜/蔬菜,500g,6,5,\n",
        "洋葱,,生鲜/蔬菜,500g,3,5,,extra\n",
    )
    before = len(as_json(run(app, "catalog", "list", "--json"))["items"])
    result = run(app, "catalog", "import", str(path), "--seller", demo["sellers"][0]["id"])
    assert result.exit_code == 65
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "error[invalid-import]: 2 of 4 rows are bad; nothing was imported"
    assert lines[1].startswith("  line 3: '12.345'")
    assert lines[2].startswith("  line 5: the row has 1 value(s) more")
    assert len(as_json(run(app, "catalog", "list", "--json"))["items"]) == before
    skipped = run(
        app, "catalog", "import", str(path), "--seller", demo["sellers"][0]["id"], "--skip-bad-rows"
    )
    assert skipped.exit_code == 0
    assert "imported 2 product(s) with 2 SKU(s)" in skipped.stdout
    assert skipped.stderr.splitlines()[0] == "warning[invalid-import]: skipped 2 bad row(s)"
    assert "line 3" in skipped.stderr
    assert len(as_json(run(app, "catalog", "list", "--json"))["items"]) == before + 2


def test_a_header_that_repeats_a_column_is_refused(
    app: injector.Injector, demo: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "twice.csv"
    path.write_text("name,category,spec,price,price\n梨,生鲜,1kg,1.00,2.00\n", encoding="utf-8")
    result = run(app, "catalog", "import", str(path), "--seller", demo["sellers"][0]["id"])
    assert result.exit_code == 65
    assert error_line(result) == "error[invalid-import]: bad header: repeated column(s): price"


def test_text_that_is_not_unicode_is_refused(app: injector.Injector, demo: dict[str, Any]) -> None:
    result = run(app, "community", "add", "a\udcff")
    assert result.exit_code == 65 and error_line(result).startswith("error[invalid-input]")
    result = run(
        app,
        "catalog",
        "add-product",
        "--seller",
        demo["sellers"][0]["id"],
        "--name",
        "x",
        "--category",
        "y",
        "--harvested-at",
        "0001-01-01",
    )
    assert result.exit_code == 65 and "harvested_at" in error_line(result)


def test_a_file_that_is_not_utf8_csv_is_refused(
    app: injector.Injector, demo: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes((CSV_HEADER + "红薯,,生鲜,1kg,1,1,\n").encode("gbk"))
    result = run(app, "catalog", "import", str(path), "--seller", demo["sellers"][0]["id"])
    assert result.exit_code == 65 and "UTF-8" in error_line(result)


def test_communities_and_sellers(app: injector.Injector) -> None:
    assert run(app, "db", "upgrade").exit_code == 0
    community = as_json(run(app, "community", "add", "翠苑", "--city", "杭州", "--json"))
    seller = as_json(
        run(app, "seller", "add", "翠苑果行", "--community", community["id"], "--json")
    )
    assert seller["community_id"] == community["id"]
    assert [c["name"] for c in as_json(run(app, "community", "list", "--json"))] == ["翠苑"]
    assert [
        s["name"]
        for s in as_json(run(app, "seller", "list", "--community", community["id"], "--json"))
    ] == ["翠苑果行"]
    merchant_without_home = run(app, "seller", "add", "游商")
    assert merchant_without_home.exit_code == 65


def test_the_installed_command_runs_the_demo(tmp_path: Path) -> None:
    exe = shutil.which("shequ", path=os.path.dirname(sys.executable))
    assert exe is not None, "install the project (pip install -e .) so that `shequ` exists"
    env = {
        **os.environ,
        "SHEQU_DATABASE_URL": f"sqlite:///{tmp_path / 'sub.db'}",
        "SHEQU_PASSWORD_PROFILE": "cheap",
    }
    demo = subprocess.run(
        [exe, "demo"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert demo.returncode == 0, demo.stderr
    listed = subprocess.run(
        [exe, "catalog", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert len(json.loads(listed.stdout)["items"]) == 31  # the thirty and a voucher
    bad = subprocess.run(
        [exe, "catalog", "show", "nope"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (bad.returncode, bad.stderr.strip()) == (
        66,
        "error[product-not-found]: no product with id 'nope'",
    )
    broken_env = {**env, "SHEQU_STORAGE": "floppy"}
    misconfigured = subprocess.run(
        [exe, "catalog", "list"],
        env=broken_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert misconfigured.returncode == 78
    assert misconfigured.stderr.startswith("error[invalid-settings]: SHEQU_STORAGE")
