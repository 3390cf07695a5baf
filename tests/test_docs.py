"""Every ```python block of README.md and docs/*.md runs, and prints what the page says.

Blocks of one file run in order in one shared namespace. A block fails the test
when it raises. When a ```python block is followed directly (blank lines
apart) by a ```text block, the text block is the expected output: what the
python block prints must match it (trailing spaces and trailing blank lines
aside). A block right after the comment ``<!-- skip: needs GPU -->`` runs only
where a GPU is visible (``fw.num_gpus() > 0``); its output block is then checked too.
"""
import contextlib
import io
import pathlib
import re
import traceback
from dataclasses import dataclass
from typing import List, Optional

import pytest

import framework as fw
from framework import block as _block_module

ROOT = pathlib.Path(__file__).resolve().parents[1]
SKIP_MARK = "<!-- skip: needs GPU -->"
_FENCE = re.compile(r"^```\s*([\w+-]*)\s*$")


@dataclass
class Block:
    line: int                  # 1-based line of the first code line in the file
    code: str
    needs_gpu: bool
    expected: Optional[str]    # the following ```text block, if any


def extract_blocks(text: str) -> List[Block]:
    """The ```python blocks of a Markdown text, with their markers and expected output."""
    lines = text.splitlines()
    fences = []                # (language, first code line index, code, previous line, end)
    previous, i = "", 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            if lines[i].strip():
                previous = lines[i].strip()
            i += 1
            continue
        end = i + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        if end == len(lines):
            raise ValueError(f"the code block opened at line {i + 1} is never closed")
        fences.append((match.group(1).lower(), i + 1, "\n".join(lines[i + 1:end]) + "\n",
                       previous, end))
        previous, i = lines[end].strip(), end + 1
    blocks = []
    for k, (lang, start, code, prev, end) in enumerate(fences):
        if lang != "python":
            continue
        expected = None
        if k + 1 < len(fences):
            nlang, nstart, ncode, _, _ = fences[k + 1]
            if nlang == "text" and all(not ln.strip() for ln in lines[end + 1:nstart - 1]):
                expected = ncode
        blocks.append(Block(start + 1, code, prev == SKIP_MARK, expected))
    return blocks


def _normalise(output: str) -> str:
    return "\n".join(line.rstrip() for line in output.rstrip("\n").split("\n"))


def run_markdown(path: pathlib.Path, has_gpu: Optional[bool] = None) -> int:
    """Run the python blocks of ``path`` in order; returns how many ran."""
    if has_gpu is None:
        has_gpu = fw.num_gpus() > 0
    name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    # a page is a program of its own, as its reader runs it: it starts with fresh block
    # names (dense0_, ...), whatever the pages before it built in this process
    naming = _block_module._STATE
    saved_counter, naming.counter = naming.counter, {}
    try:
        return _run_blocks(path, name, has_gpu)
    finally:
        naming.counter = saved_counter


def _run_blocks(path: pathlib.Path, name, has_gpu: bool) -> int:
    namespace = {"__name__": f"__docs_{path.stem}__"}
    ran = 0
    for block in extract_blocks(path.read_text(encoding="utf-8")):
        if block.needs_gpu and not has_gpu:
            continue
        # pad with newlines so tracebacks give line numbers of the Markdown file
        code = compile("\n" * (block.line - 1) + block.code, str(name), "exec")
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                exec(code, namespace)
        except Exception:  # noqa: BLE001 - any error in a documented example fails the test
            pytest.fail(f"{name}: the python block at line {block.line} raised:\n"
                        f"{traceback.format_exc()}", pytrace=False)
        ran += 1
        if block.expected is not None and _normalise(out.getvalue()) != _normalise(block.expected):
            pytest.fail(f"{name}: the python block at line {block.line} printed\n"
                        f"{out.getvalue()!r}\nbut the page shows\n{block.expected!r}",
                        pytrace=False)
    return ran


DOC_FILES = sorted([ROOT / "README.md"] + list((ROOT / "docs").glob("*.md")))


def test_the_documented_files_exist():
    names = [p.relative_to(ROOT).as_posix() for p in DOC_FILES if p.exists()]
    assert "README.md" in names and "docs/autograd.md" in names


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_markdown_code_runs(path, monkeypatch):
    if not path.exists():
        pytest.fail(f"{path.relative_to(ROOT)} is missing")
    monkeypatch.chdir(ROOT)
    ran = run_markdown(path)
    if path.name in ("README.md", "autograd.md"):
        assert ran > 0, f"{path.name} has no python block"


@pytest.mark.parametrize("page", ["autograd.md", "devices.md"])
def test_gpu_blocks_run_on_the_test_gpu(page, monkeypatch):
    # In the test suite gpu(0) always exists (the strict stand-in, or CuPy), so the
    # guides' GPU-only blocks are run here too, with their printed output checked.
    monkeypatch.chdir(ROOT)
    path = ROOT / "docs" / page
    gpu_blocks = [b for b in extract_blocks(path.read_text(encoding="utf-8")) if b.needs_gpu]
    assert gpu_blocks
    assert run_markdown(path, has_gpu=True) == len(extract_blocks(path.read_text("utf-8")))


# ------------------------------------------------------- the runner itself
def _page(tmp_path, text):
    path = tmp_path / "page.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_runner_shares_a_namespace_and_checks_output(tmp_path):
    page = _page(tmp_path, "# t\n\n```python\nv = 2\n```\n\nThen\n\n```python\nprint(v * 3)\n"
                           "```\n\n```text\n6\n```\n\n```bash\nexit 1\n```\n")
    assert run_markdown(page, has_gpu=False) == 2


def test_runner_fails_on_a_raising_block(tmp_path):
    page = _page(tmp_path, "intro\n\n```python\nx = 1\n```\n\n```python\nx = 1\n1 / 0\n```\n")
    with pytest.raises(pytest.fail.Exception, match=r"block at line 8 raised(.|\n)*"
                                                    r"ZeroDivisionError"):
        run_markdown(page, has_gpu=False)


def test_runner_fails_on_wrong_output(tmp_path):
    page = _page(tmp_path, "```python\nprint(1 + 1)\n```\n\n```text\n3\n```\n")
    with pytest.raises(pytest.fail.Exception, match="printed\n'2\\\\n'\nbut the page shows"):
        run_markdown(page, has_gpu=False)


def test_runner_skips_gpu_blocks_without_a_gpu(tmp_path):
    page = _page(tmp_path, "<!-- skip: needs GPU -->\n```python\nraise SystemError\n```\n\n"
                           "```python\nprint('ran')\n```\n\n```text\nran\n```\n")
    assert run_markdown(page, has_gpu=False) == 1
    with pytest.raises(pytest.fail.Exception, match="SystemError"):
        run_markdown(page, has_gpu=True)


def test_extract_blocks_reports_an_unclosed_fence():
    with pytest.raises(ValueError, match="line 2 is never closed"):
        extract_blocks("text\n```python\nx = 1\n")
