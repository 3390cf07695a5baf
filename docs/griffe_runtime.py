"""Griffe extensions for the API reference (used by ``mkdocs.yml``).

``RuntimeFunctions``: functions made at import time. Many ``fw.nd`` operators are made by a factory (``add = _binary_function(Add, "lhs + rhs")``)
or are aliases (``sum_axis = sum``). Read statically, griffe sees attributes with no
docstring, so mkdocstrings would leave them out. This extension imports each module of
``framework.ndarray`` and, for every name of its ``__all__`` that griffe holds as an
attribute but that is a function at run time, puts a griffe ``Function`` with the run-time
signature and docstring in its place. Everything else stays static (inspecting the whole
package is slower, and shows inherited and imported members).

``ArgumentLists``: the docstrings here list arguments as plain lines,
``name: what it is`` (or ``a, b: ...``), one after the other. Markdown would run them
together into one paragraph; this turns each run of such lines into a bullet list,
without touching the source.
"""
from __future__ import annotations

import importlib
import inspect
import re

import griffe

_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: griffe.ParameterKind.positional_only,
    inspect.Parameter.POSITIONAL_OR_KEYWORD: griffe.ParameterKind.positional_or_keyword,
    inspect.Parameter.VAR_POSITIONAL: griffe.ParameterKind.var_positional,
    inspect.Parameter.KEYWORD_ONLY: griffe.ParameterKind.keyword_only,
    inspect.Parameter.VAR_KEYWORD: griffe.ParameterKind.var_keyword,
}


def _function(name: str, runtime, module: griffe.Module, lineno) -> griffe.Function:
    """A griffe Function for the run-time function ``runtime``, named ``name``."""
    parameters = []
    for p in inspect.signature(runtime).parameters.values():
        default = None if p.default is inspect.Parameter.empty else repr(p.default)
        parameters.append(griffe.Parameter(p.name, kind=_KINDS[p.kind], default=default))
    function = griffe.Function(name, parameters=griffe.Parameters(*parameters),
                               lineno=lineno, endlineno=lineno)
    doc = inspect.getdoc(runtime)
    if doc:
        function.docstring = griffe.Docstring(doc, parent=function)
    return function


class RuntimeFunctions(griffe.Extension):
    """Replace ``framework.ndarray`` attributes that are functions at run time."""

    def __init__(self, prefix: str = "framework.ndarray") -> None:
        super().__init__()
        self.prefix = prefix

    def on_package(self, *, pkg: griffe.Module, **kwargs) -> None:
        if not self.prefix.startswith(pkg.path):
            return
        self._visit(pkg)

    def _visit(self, module: griffe.Module) -> None:
        for member in list(module.members.values()):
            if isinstance(member, griffe.Module) and not member.is_alias:
                self._visit(member)
        if not module.path.startswith(self.prefix):
            return
        runtime_module = importlib.import_module(module.path)
        for name in getattr(runtime_module, "__all__", ()):
            member = module.members.get(name)
            if member is None or member.is_alias or not isinstance(member, griffe.Attribute):
                continue
            runtime = getattr(runtime_module, name, None)
            if inspect.isfunction(runtime):
                module.set_member(name, _function(name, runtime, module, member.lineno))


# "name: text", "a, b: text" or "``name``: text" at the start of an unindented line
_ARGUMENT_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*(?:, [A-Za-z_][\w.]*)*|``[^`]+``): \S")


def _term(term: str) -> str:
    """An argument name as code; a capitalised label (``Errors:``) in bold."""
    if term.startswith("``"):
        return term
    if term[0].isupper() and "_" not in term and ", " not in term:
        return f"**{term}**"
    return ", ".join(f"``{t}``" for t in term.split(", "))


def as_argument_lists(text: str) -> str:
    """``text`` with its runs of ``name: ...`` lines (after the first line) made into
    Markdown bullet lists. Indented lines right after an item continue it; an indented
    block after a list (code) is indented once more, so that it stays code."""
    lines = text.split("\n")
    out = lines[:1]
    in_list = after_list = False
    for line in lines[1:]:
        if _ARGUMENT_LINE.match(line):
            term, rest = line.split(": ", 1)
            if not in_list and out and out[-1].strip():
                out.append("")                       # a list must follow a blank line
            out.append(f"- {_term(term)}: {rest}")
            in_list, after_list = True, False
            continue
        if not line.strip():
            after_list = after_list or in_list
            in_list = False
        elif in_list and line.startswith(" "):
            line = "  " + line.lstrip()              # a continuation of the item
        elif after_list and line.startswith("    "):
            line = "    " + line                     # code inside the last item
        elif not line.startswith(" "):
            after_list = False
        out.append(line)
    return "\n".join(out)


class ArgumentLists(griffe.Extension):
    """Bullet lists for the ``name: ...`` argument lines of ``framework``'s docstrings."""

    def on_package(self, *, pkg: griffe.Module, **kwargs) -> None:
        if pkg.path == "framework":
            self._visit(pkg, set())

    def _visit(self, obj, seen: set) -> None:
        if obj.is_alias or id(obj) in seen:
            return
        seen.add(id(obj))
        if obj.docstring is not None:
            obj.docstring.value = as_argument_lists(obj.docstring.value)
        for member in list(obj.members.values()):
            self._visit(member, seen)
