"""The public API is what the docs promise, and every error code is documented."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import shequ
import shequ.errors
from shequ.domain.errors import ShequError

DOCS = Path(__file__).resolve().parents[2] / "docs"


def documented_names() -> list[str]:
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    section = text.split("## Public names", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^- `([^`]+)`", section, flags=re.MULTILINE)


def test_all_is_sorted_and_importable() -> None:
    # ruff's RUF022 order: CONSTANTS, then Classes, then the rest
    def kind(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert shequ.__all__ == sorted(shequ.__all__, key=kind)
    for name in shequ.__all__:
        assert hasattr(shequ, name), name


def test_all_is_what_the_docs_promise() -> None:
    assert documented_names() == shequ.__all__


def every_error_class() -> list[type[ShequError]]:
    found = {ShequError}
    queue = [ShequError]
    while queue:
        for sub in queue.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                queue.append(sub)
    return sorted(found, key=lambda c: c.__name__)


def test_every_error_has_its_own_documented_kebab_case_code() -> None:
    errors_doc = (DOCS / "errors.md").read_text(encoding="utf-8")
    classes = every_error_class()
    codes = [c.code for c in classes]
    assert len(set(codes)) == len(codes), "two error classes share a code"
    for cls in classes:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", cls.code), cls
        assert f"`{cls.code}`" in errors_doc, f"{cls.__name__} ({cls.code}) is not in errors.md"
        assert cls.__name__ in shequ.errors.__all__, f"shequ.errors does not export {cls}"


def test_every_module_declares_its_public_names() -> None:
    for info in pkgutil.walk_packages(shequ.__path__, "shequ."):
        if ".migrations" in info.name or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        defines = any(
            getattr(v, "__module__", None) == module.__name__
            and (inspect.isclass(v) or inspect.isfunction(v))
            for n, v in vars(module).items()
            if not n.startswith("_")
        )
        if defines:
            assert hasattr(module, "__all__"), f"{info.name} has no __all__"
        for name in getattr(module, "__all__", ()):
            assert hasattr(module, name), f"{info.name}.__all__ names missing {name}"


def test_the_package_ships_its_type_marker() -> None:
    assert (Path(shequ.__file__).parent / "py.typed").exists()
