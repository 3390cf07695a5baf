"""The documentation site (mkdocs.yml, docs/) builds with ``mkdocs build --strict``.

Strict mode turns every warning into a failure: a broken link or anchor, a page
missing from the navigation, a docstring mkdocstrings cannot render, an API
directive naming something that does not exist. The code blocks of the pages are
run by tests/test_docs.py; these tests check that it sees all of them.
"""
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _nav_pages():
    """The Markdown files named in mkdocs.yml's nav (relative to docs/)."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = text[text.index("\nnav:"):]
    return re.findall(r"([\w./-]+\.md)\s*$", nav, flags=re.MULTILINE)


def test_mkdocs_build_strict_succeeds(tmp_path):
    # not a skip: the dev extra (what CI installs) holds the docs tools
    for module in ("mkdocs", "material", "mkdocstrings_handlers.python"):
        try:
            __import__(module)
        except ImportError:
            pytest.fail(f"{module} is not installed; pip install -e '.[dev]' (or '.[docs]')")
    site = tmp_path / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (f"mkdocs build --strict failed:\n{result.stdout}\n"
                                    f"{result.stderr}")
    for page in ["index.html", "getting-started/index.html", "autograd/index.html",
                 "mxnet-users/index.html", "api/nd/index.html", "api/data/index.html"]:
        assert (site / page).is_file(), f"{page} was not built"
    # the API reference is generated from the docstrings: a few names that must be there
    nd_page = (site / "api" / "nd" / "index.html").read_text(encoding="utf-8")
    for name in ["framework.ndarray.ops.arith.add", "framework.ndarray.ops.conv.Convolution",
                 "framework.ndarray.ndarray.NDArray.attach_grad"]:
        assert f'id="{name}"' in nd_page, f"{name} is missing from the API reference"
    data_page = (site / "api" / "data" / "index.html").read_text(encoding="utf-8")
    assert 'id="framework.data.dataloader.DataLoader"' in data_page


def test_every_page_is_in_the_navigation():
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    nav = set(_nav_pages())
    assert pages == nav, (f"pages not in mkdocs.yml's nav: {sorted(pages - nav)}; "
                          f"nav entries with no page: {sorted(nav - pages)}")


def test_pages_in_subfolders_have_no_code_to_run():
    # tests/test_docs.py runs the python blocks of README.md and docs/*.md only; a block
    # in docs/api/ (generated reference) would never run, so there must be none
    for page in DOCS.rglob("*.md"):
        if page.parent != DOCS:
            assert "```python" not in page.read_text(encoding="utf-8"), \
                f"{page.relative_to(ROOT)} has a python block that no test runs"
