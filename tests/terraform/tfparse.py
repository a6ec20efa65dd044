"""Terraform configuration read with python-hcl2, normalised for the offline checks.

python-hcl2 keeps the quotes of string literals and of block labels and marks blocks with
``__is_block__``; this module strips both so that tests read plain values:

    >>> blocks = parse_text('resource "azurerm_x" "a" { name = "n"\\n tags = { k = "v" } }')
    >>> blocks[0].type, blocks[0].labels, blocks[0].attrs["name"], blocks[0].attrs["tags"]
    ('resource', ('azurerm_x', 'a'), 'n', {'k': 'v'})

Expressions stay as python-hcl2 renders them (``"${var.sku}"``); ``Stack.resolve`` follows a
bare ``${var.NAME}`` through the module call of one environment to its value there.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[2] / "terraform"
ENVIRONMENTS = ("dev", "staging", "prod")
_VAR = re.compile(r"^\$\{var\.([A-Za-z0-9_]+)\}$")
# A module switched on and off by a variable: ``count = var.X ? 1 : 0``.
_GATE = re.compile(r"^\$\{var\.([A-Za-z0-9_]+) \? 1 : 0\}$")


def _unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _is_block(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(v, dict) and v.get("__is_block__") for v in value
    )


def _is_dynamic(value: Any) -> bool:
    """``dynamic "x" { ... }``: python-hcl2 gives ``[{'"x"': {..., "__is_block__": True}}]``."""
    return isinstance(value, list) and bool(value) and all(
        isinstance(v, dict) and all(k == "__is_block__" or isinstance(s, dict) for k, s in v.items())
        for v in value
    )


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {_unquote(k): _plain(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return _unquote(value)


@dataclass
class Block:
    """One HCL block: its type, labels, attributes and nested blocks."""

    type: str
    labels: tuple[str, ...] = ()
    attrs: dict[str, Any] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    file: Path | None = None
    dynamic: bool = False

    @property
    def address(self) -> str:
        return ".".join((self.type, *self.labels))

    def get(self, name: str, default: Any = None) -> Any:
        return self.attrs.get(name, default)

    def children(self, name: str) -> list[Block]:
        return [b for b in self.blocks if b.type == name]

    def child(self, name: str) -> Block | None:
        found = self.children(name)
        return found[0] if found else None


def _body(btype: str, labels: tuple[str, ...], body: dict[str, Any], file: Path | None,
          dynamic: bool = False) -> Block:
    block = Block(type=btype, labels=labels, file=file, dynamic=dynamic)
    for key, value in body.items():
        if key == "__is_block__":
            continue
        if key == "dynamic" and (_is_block(value) or _is_dynamic(value)):
            for item in value:
                for name, spec in item.items():
                    if name == "__is_block__":
                        continue
                    content = spec.get("content", [{}])[0]
                    inner = _body(_unquote(name), (), content, file, dynamic=True)
                    inner.attrs.setdefault("__for_each__", _plain(spec.get("for_each")))
                    block.blocks.append(inner)
            continue
        if _is_block(value):
            for item in value:
                block.blocks.append(_body(key, (), item, file))
        else:
            block.attrs[key] = _plain(value)
    return block


def _labelled(btype: str, value: Any, depth: int, labels: tuple[str, ...],
              file: Path | None) -> list[Block]:
    if depth == 0:
        return [_body(btype, labels, value, file)]
    out: list[Block] = []
    for key, inner in value.items():
        if key == "__is_block__":
            continue
        out += _labelled(btype, inner, depth - 1, (*labels, _unquote(key)), file)
    return out


_LABELS = {"resource": 2, "data": 2, "module": 1, "variable": 1, "output": 1, "provider": 1,
           "check": 1}


def parse_text(text: str, file: Path | None = None) -> list[Block]:
    """Top-level blocks of one Terraform file."""
    tree = hcl2.load(io.StringIO(text))
    out: list[Block] = []
    for btype, items in tree.items():
        for item in items:
            depth = _LABELS.get(btype, 0)
            out += _labelled(btype, item, depth, (), file)
    return out


_PARSED: dict[tuple[Path, int], list[Block]] = {}


def parse_file(path: Path) -> list[Block]:
    """Top-level blocks of one file, parsed once per version of the file."""
    key = (path.resolve(), path.stat().st_mtime_ns)
    if key not in _PARSED:
        _PARSED[key] = parse_text(path.read_text(), path)
    return _PARSED[key]


def parse_dir(folder: Path) -> list[Block]:
    """Top-level blocks of every ``*.tf`` file directly in ``folder``."""
    out: list[Block] = []
    for path in sorted(folder.glob("*.tf")):
        out += parse_file(path)
    return out


def tf_folders(root: Path = ROOT) -> list[Path]:
    """Every folder under ``root`` that holds ``*.tf`` files (``.terraform`` excluded)."""
    return sorted({p.parent for p in root.rglob("*.tf") if ".terraform" not in p.parts})


def all_blocks(root: Path = ROOT) -> list[Block]:
    out: list[Block] = []
    for folder in tf_folders(root):
        out += parse_dir(folder)
    return out


def resources(blocks: list[Block], rtype: str | None = None, kind: str = "resource") -> list[Block]:
    return [b for b in blocks if b.type == kind and (rtype is None or b.labels[0] == rtype)]


class Stack:
    """One environment: its root folder and the modules it calls, to follow variables.

    A module gated by ``count = var.X ? 1 : 0`` is part of the stack only when X is true in
    this environment (or in ``switches``, which stand in for a ``-var X=true`` plan). A
    module folder called twice (the failover app tier reuses the app module) is followed
    through its first call: the primary region's.
    """

    def __init__(self, env: str, root: Path = ROOT, switches: dict[str, bool] | None = None) -> None:
        self.env = env
        self.root = root
        self.folder = root / "envs" / env
        self.blocks = parse_dir(self.folder)
        self.switches = dict(switches or {})
        # module folder -> the module call block that reaches it first
        self.calls: dict[Path, Block] = {}
        self.gated_off: list[str] = []
        self._walk(self.folder, None)

    def _enabled(self, block: Block) -> bool:
        match = _GATE.match(str(block.get("count", "")))
        if not match:
            return True
        name = match.group(1)
        if name in self.switches:
            return self.switches[name]
        return self.resolve(f"${{var.{name}}}", block) is True

    def _walk(self, folder: Path, call: Block | None) -> None:
        for block in parse_dir(folder):
            if block.type != "module":
                continue
            source = block.get("source", "")
            if not str(source).startswith("."):
                continue
            if not self._enabled(block):
                self.gated_off.append(block.labels[0])
                continue
            target = (folder / source).resolve()
            if target in self.calls:
                continue
            self.calls[target] = block
            self._walk(target, block)

    def modules(self) -> list[Path]:
        return [self.folder, *self.calls]

    def resources(self, rtype: str | None = None, kind: str = "resource") -> list[Block]:
        out: list[Block] = []
        for folder in self.modules():
            out += resources(parse_dir(folder), rtype, kind)
        return out

    def resolve(self, value: Any, block: Block) -> Any:
        """The value of a bare ``${var.X}`` in ``block`` for this environment, else ``value``."""
        for _ in range(10):
            match = _VAR.match(value) if isinstance(value, str) else None
            if not match or block.file is None:
                return value
            folder = block.file.parent.resolve()
            name = match.group(1)
            call = self.calls.get(folder)
            if call is not None and name in call.attrs:
                value, block = call.attrs[name], call
                continue
            tfvars = folder / "terraform.tfvars"
            if tfvars.exists():
                values = _plain(hcl2.load(io.StringIO(tfvars.read_text())))
                if name in values:
                    return values[name]
            for var in parse_dir(folder):
                if var.type == "variable" and var.labels == (name,):
                    return var.get("default", value)
            return value
        return value
