"""Declarative validation of the TOML data files: one model per file, one merge, one error format.

A data file is described by a :class:`DataModel` (pydantic v2): field types, ranges and choices are
declared, unknown keys are rejected (``extra="forbid"``) and numbers must be numbers (``strict``:
``true`` is not 1, ``"5"`` is not 5, NaN and infinity are refused).  Layers are merged table by table
(:func:`deep_merge`: packaged defaults, then a user file, then overrides given in Python) and the
merged document is validated once, so every problem is reported in one
:class:`~sanxian_yidan.errors.DataFileError`, each line naming the file that set the key and the key's
path, e.g. ``solar.toml: weather.far_warning_km: must be > 0, got -5.0 (必须 > 0)``.

:func:`sanxian_yidan.datafiles.load_model` reads the files; this module holds what needs no file
reading (so that the input-safety guards, which the reader uses, can validate their own settings).
"""

from __future__ import annotations

import difflib
import operator
import sys
import types
import typing
import warnings
from collections.abc import Callable, Mapping, Sequence
from functools import reduce
from typing import Annotated, Any, ClassVar, TypeVar, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, PrivateAttr, StringConstraints, ValidationError
from pydantic.functional_validators import AfterValidator

from .errors import DataFileError, problem

__all__ = ["PACKAGED_PREFIX", "AsTuple", "DataModel", "FormerAttributes", "FormerKeyword", "FormerKeywords", "Keyed",
           "KeyedTable", "PositionalFields", "python_only", "Source", "Sourced", "SourcedValue", "deep_merge", "format_errors",
           "validate_layers"]

M = TypeVar("M", bound="DataModel")

#: How a packaged data file is named in messages (never an absolute path).
PACKAGED_PREFIX = "sanxian_yidan/data/"

#: A non-empty source: document and clause, data set, or "assumption (labelled)" with the reasoning.
Source = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


#: Reads a TOML array as a tuple (hashable, immutable): ``Annotated[tuple[float, ...], AsTuple]``.
AsTuple = BeforeValidator(_as_tuple)


class DataModel(BaseModel):
    """Base of every data-file model: unknown keys rejected, strict types, finite numbers, frozen.

    ``what`` names the parameter set in both languages for the error header (``"光伏资源 / solar"``).
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)
    what: ClassVar[str] = "数据 / data"
    #: The error raised for a file of this model (a :class:`DataFileError` unless the file is, e.g., a catalog).
    error: ClassVar[type[Exception]] = DataFileError
    _files: tuple[str, ...] = PrivateAttr(default=())

    @classmethod
    def document_problems(cls, doc: Mapping[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
        """Cross-key rules checked on the raw merged document, reported with the field problems.

        Pydantic runs a model's own ``model_validator(mode="after")`` only when all its fields are
        valid; a rule that must be reported together with them (e.g. "the last mode rule is the
        default") is written here instead, as ``(key path, message)`` pairs.
        """
        return []

    @property
    def loaded_from(self) -> str:
        """The file(s) the values came from, ``" + "``-joined (packaged first)."""
        return " + ".join(self._files)


class Sourced(DataModel):
    """A table of values that carries one ``source`` for all of them."""

    source: Source


class Keyed(DataModel):
    """An entry of a table keyed by id (``[project_types.pv]``): its ``id`` is its key, not a key of its own.

    A table of them is declared ``Annotated[dict[str, Entry], KeyedTable]``; validating it gives each entry
    its key.
    """

    _id: str = PrivateAttr(default="")

    @property
    def id(self) -> str:
        """The entry's key in its table."""
        return self._id


def _with_ids(entries: Any) -> Any:
    for key, entry in entries.items():
        entry._id = key
        # Labels the file may leave out read as the key (object.__setattr__: the validated model is frozen).
        for name in getattr(entry, "labels_from_id", ()):
            if getattr(entry, name) is None:
                object.__setattr__(entry, name, key)
    return entries


#: Gives each :class:`Keyed` entry of a validated ``dict[str, Entry]`` its key as ``id``.
KeyedTable = AfterValidator(_with_ids)


class PositionalFields:
    """Mixin of a parameter model that was a frozen dataclass: its former positional order still works.

    ``GridClass(110.0, 50.0, "GB ...")`` (the dataclass' field order, ``positional``) gives the same object as
    the keywords, with a :class:`DeprecationWarning`; keywords are the way from now on.  A field listed in
    ``spread`` (e.g. ``CriterionSpec``'s former ``options`` mapping) is unpacked into keys of the model.
    ``dataclasses.replace(obj, x=1)`` becomes ``obj.replace(x=1)`` (validated, unlike
    ``obj.model_copy(update={"x": 1})``); ``dataclasses.asdict(obj)`` becomes ``obj.model_dump()``.
    """

    positional: ClassVar[tuple[str, ...]] = ()
    spread: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(self.positional):
            raise TypeError(f"{type(self).__name__} takes at most {len(self.positional)} positional arguments "
                            f"({', '.join(self.positional)}), got {len(args)}")
        for name, value in zip(self.positional, args):
            if name in kwargs:
                raise TypeError(f"{type(self).__name__} got multiple values for argument '{name}'")
            kwargs[name] = value
        if args:
            warnings.warn(f"{type(self).__name__}: 位置参数已弃用，请使用关键字参数 / positional arguments are "
                          f"deprecated; use keywords ({', '.join(self.positional[:len(args)])}=...)",
                          DeprecationWarning, stacklevel=2 + _init_frames(type(self), PositionalFields))
        for name in self.spread:
            if isinstance(kwargs.get(name), Mapping):
                kwargs = {**kwargs.pop(name), **kwargs}
        super().__init__(**kwargs)

    def replace(self, **changes: Any) -> Any:
        """A copy with ``changes`` applied and validated again (what ``dataclasses.replace`` did)."""
        return type(self).model_validate({**self.model_dump(), **changes})  # type: ignore[attr-defined]


#: Where a former keyword goes: a field (``"name"``), a key of a mapping field (``"params.where"``), a private
#: attribute set after validation (``"_origin"``), or the new form in words and a function of the value giving
#: the new keywords (``{}`` when the value says nothing, e.g. a former default).
FormerKeyword = str | tuple[str, Callable[[Any], Mapping[str, Any]]]


class FormerKeywords:
    """Mixin of a parameter model that was a frozen dataclass: its former keyword names still construct it.

    ``former_keywords`` maps each former keyword to where its value goes now (:data:`FormerKeyword`).  A former
    keyword gives the same object as the new form, with a :class:`DeprecationWarning` naming the new form; a value
    given the new way wins over one given the former way.  Only construction in Python (``Model(...)``) reads
    them (the model's ``__init__`` is :func:`python_only`): in a data file a former name stays an unknown key.
    Listed after :class:`PositionalFields` in the bases, so that former positional arguments reach it by their
    former names.
    """

    former_keywords: ClassVar[Mapping[str, FormerKeyword]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in vars(cls):
            python_only(vars(cls)["__init__"])
            return

        def __init__(self: Any, *args: Any, **kw: Any) -> None:  # the inherited one, marked on this class only
            super(cls, self).__init__(*args, **kw)
        cls.__init__ = python_only(__init__)  # type: ignore[method-assign]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        used = [name for name in self.former_keywords if name in kwargs]
        moved: dict[str, Any] = {}
        private: dict[str, Any] = {}
        for name in used:
            value, where = kwargs.pop(name), self.former_keywords[name]
            if not isinstance(where, str):
                moved = deep_merge(moved, where[1](value))
            elif where.startswith("_"):
                private[where] = value
            else:
                head, _, key = where.partition(".")
                moved = deep_merge(moved, {head: {key: value} if key else value})
        if used:
            advice = "; ".join(f"{name}= -> {_new_form(self.former_keywords[name])}" for name in used)
            warnings.warn(f"{type(self).__name__}: 旧参数名已弃用 / keywords {', '.join(f'{n}=' for n in used)} are "
                          f"deprecated and will be removed in the next release; {advice}",
                          DeprecationWarning, stacklevel=2 + _init_frames(type(self), FormerKeywords))
        super().__init__(*args, **(deep_merge(moved, kwargs) if moved else kwargs))
        for name, value in private.items():
            setattr(self, name, value)


InitT = TypeVar("InitT", bound=Callable[..., None])


def python_only(init: InitT) -> InitT:
    """Mark a model's ``__init__`` as run only when Python code builds the model, never while a file is validated.

    Pydantic calls a model's own ``__init__`` also for each nested table it validates; a former form accepted there
    would let a data file use a former name (with a warning nobody reads) instead of failing as an unknown key.
    Marked as pydantic's base ``__init__``, it runs only for ``Model(...)``.
    """
    init.__pydantic_base_init__ = True  # type: ignore[attr-defined]
    return init


def _init_frames(cls: type, mixin: type) -> int:
    """How many ``__init__`` of ``cls``'s bases run before ``mixin``'s (so that a warning names the caller's line)."""
    mro = cls.__mro__
    return sum("__init__" in vars(c) for c in mro[:mro.index(mixin)])


def _new_form(where: FormerKeyword) -> str:
    """The new form of a former keyword, in words (for the warning)."""
    if not isinstance(where, str):
        return where[0]
    if where.startswith("_"):
        return f"{where[1:]} is set when the record is loaded from its file"
    head, _, key = where.partition(".")
    return f'{head}={{"{key}": ...}}' if key else f"{head}=..."


#: Where a former attribute is now: its path on the model (read as written), or the path as text and how to read it.
Former = str | tuple[str, Callable[[Any], Any]]


class FormerAttributes:
    """Mixin of a parameter model that replaced a frozen dataclass: the dataclass' flat attributes still read.

    ``former`` maps each former attribute name to where it is now: a path on the model
    (``"yield_.tilt_deg"``), or ``(text, read)`` when the old value is derived (``read`` takes the model, e.g.
    ``("grid.classes", lambda p: tuple(p.grid.classes))`` to keep the former tuple).  Reading a former name
    gives the value it gave before, with a :class:`DeprecationWarning` naming the new path; they are removed in
    the next release.  Any other name is looked up as pydantic does (private attributes, extra keys), so an
    unknown name still raises :class:`AttributeError`.
    """

    former: ClassVar[Mapping[str, Former]] = {}

    if not typing.TYPE_CHECKING:  # hidden from mypy, which thus still reports the former names (and typos)
        def __getattr__(self, name: str) -> Any:
            where = type(self).former.get(name)
            if where is None:
                return super().__getattr__(name)
            path, read = (where, operator.attrgetter(where)) if isinstance(where, str) else where
            warnings.warn(f"{_public_name(type(self))}.{name}: 已弃用，请读取 .{path} / is deprecated and will be "
                          f"removed in the next release; read .{path}", DeprecationWarning, stacklevel=2)
            return read(self)


def _public_name(cls: type) -> str:
    """The name users know a model by: the former record's name its module binds to it
    (``BrownfieldParams = BrownfieldFile``), else the class' own."""
    names = [k for k, v in vars(sys.modules[cls.__module__]).items() if v is cls and k != cls.__name__]
    return names[0] if names else cls.__name__


class SourcedValue(DataModel):
    """One factor: a number, its unit and where it comes from (all three required)."""

    value: float
    unit: str
    source: Source


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge a user document over a packaged one, table by table.

    Tables (mappings) present in both are merged recursively; any other value in
    ``override`` (numbers, strings, arrays, arrays of tables) replaces the one in
    ``base`` whole.  A user TOML can thus change any key but cannot delete one; the
    model validates the merged result.

    Parameters
    ----------
    base : mapping
        Parsed packaged document.
    override : mapping
        Parsed user document (or a mapping given in Python).

    Returns
    -------
    dict
        A new document; neither input is modified (nested tables are new dicts,
        leaf values are shared).

    Examples
    --------
    >>> deep_merge({"a": {"x": 1, "y": 2}, "b": [1]}, {"a": {"y": 3}, "b": [4, 5]})
    {'a': {'x': 1, 'y': 3}, 'b': [4, 5]}
    """
    out: dict[str, Any] = {k: (deep_merge(v, {}) if isinstance(v, Mapping) else v) for k, v in base.items()}
    for key, value in override.items():
        if isinstance(value, Mapping):
            out[key] = deep_merge(out[key] if isinstance(out.get(key), Mapping) else {}, value)
        else:
            out[key] = value
    return out


def validate_layers(model: type[M], layers: Sequence[tuple[str, Mapping[str, Any]]], *,
                    fix: str | None = None) -> M:
    """Merge ``layers`` (first = packaged defaults, last wins) and validate the result against ``model``.

    Parameters
    ----------
    model : type of DataModel
        The model of the file.
    layers : sequence of (label, document)
        Each layer's name in messages (a file, ``"<overrides>"``) and its parsed content.
    fix : str, optional
        The fix named in the error; by default "correct each key listed (see <packaged file>)".

    Returns
    -------
    DataModel
        The validated model; ``.loaded_from`` names the layers.

    Raises
    ------
    DataFileError
        One error listing every problem, each with the file that set the key and its key path.
    """
    doc: dict[str, Any] = reduce(deep_merge, (d for _, d in layers), {})
    extra = model.document_problems(doc)
    try:
        obj = model.model_validate(doc)
    except ValidationError as exc:
        raise model.error(format_errors(exc.errors(include_url=False), model, layers, fix=fix, extra=extra)) from None
    if extra:
        raise model.error(format_errors([], model, layers, fix=fix, extra=extra))
    obj._files = tuple(label for label, _ in layers)
    return obj


# ------------------------------------------------------------------------------------------------
# error formatting
# ------------------------------------------------------------------------------------------------
_KINDS = {"float": "a number / 数字", "int": "a whole number / 整数", "string": "text / 文本",
          "bool": "true or false / 布尔值", "dict": "a table / 表", "model": "a table / 表",
          "list": "a list / 数组", "tuple": "a list / 数组", "model_attributes": "a table / 表"}
_BOUNDS = {"greater_than": (">", "gt"), "greater_than_equal": (">=", "ge"), "less_than": ("<", "lt"),
           "less_than_equal": ("<=", "le")}


def _short(value: Any, width: int = 60) -> str:
    """``repr(value)`` cut to ``width`` characters (a 400-digit number or a long table is not repeated whole)."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _item_message(err: Mapping[str, Any], valid: Sequence[str]) -> str:
    """One problem in words (English, then Chinese)."""
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    key = str(err["loc"][-1]) if err["loc"] else ""
    if kind == "missing":
        return "missing required key (缺少必填项)"
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"unknown key (未知的键){hint} (valid keys: {', '.join(valid)})"
    if kind in _BOUNDS:
        op, bound = _BOUNDS[kind][0], ctx.get(_BOUNDS[kind][1])
        bound = int(bound) if isinstance(bound, float) and bound.is_integer() else bound
        return f"must be {op} {bound}, got {_short(value)} (必须 {op} {bound})"
    if kind == "string_too_short" and (key == "source" or key.endswith("_source")):
        return ("needs a non-empty source: document and clause, data set, or 'assumption (labelled)' with the "
                "reasoning (来源不能为空)")
    if kind == "float_type" and isinstance(value, int) and not isinstance(value, bool):
        return f"{_short(value)} is too large a number (数值过大)"
    if kind.endswith("_type") and kind[: -len("_type")] in _KINDS:
        return f"must be {_KINDS[kind[: -len('_type')]]}, got {type(value).__name__} {_short(value)}"
    if kind == "finite_number":
        return f"must be a finite number, got {_short(value)} (必须是有限数)"
    if kind in ("literal_error", "enum"):
        return f"must be one of {ctx.get('expected')}, got {_short(value)} (取值无效)"
    if kind in ("too_short", "too_long"):  # an array read as a tuple (AsTuple) is still an array of the file
        shown = list(value) if isinstance(value, tuple) else value
        return f"{err['msg'].lower().replace('tuple', 'list')}, got {_short(shown)} (元素个数不对)"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return f"{err['msg']}, got {_short(value)}"


def _unwrap(tp: Any) -> list[Any]:
    """The candidate types inside ``Annotated``/``Optional``/``Union``."""
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin is Union or origin is types.UnionType:
        return [t for a in typing.get_args(tp) for t in _unwrap(a)]
    return [tp]


def _extra_type(model: type[BaseModel]) -> Any:
    """The declared type of a model's extra keys (``__pydantic_extra__: dict[str, X]``), if any."""
    try:
        return typing.get_type_hints(model).get("__pydantic_extra__")
    except (NameError, TypeError):
        return None


def _file_keys(model: type[BaseModel]) -> dict[str, Any]:
    """The model's fields by the key the file gives them (the alias of ``yield_`` is ``yield``)."""
    return {field.alias or name: field for name, field in model.model_fields.items()}


def _valid_keys(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """Keys of the model found at ``loc`` (the table holding an unknown key), as the file spells them."""
    current: list[Any] = [model]
    for part in loc:
        nxt: list[Any] = []
        for tp in current:
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                if isinstance(part, str) and part in (keys := _file_keys(tp)):
                    nxt += _unwrap(keys[part].annotation)
                elif typing.get_origin(extra := _extra_type(tp)) is dict:  # typed extra keys (a collection)
                    nxt += _unwrap(typing.get_args(extra)[1])
            elif typing.get_origin(tp) in (dict, Mapping):
                nxt += _unwrap(typing.get_args(tp)[1])
            elif typing.get_origin(tp) in (list, tuple) and isinstance(part, int):
                nxt += _unwrap(typing.get_args(tp)[0])
        current = nxt
    return sorted({k for tp in current if isinstance(tp, type) and issubclass(tp, BaseModel)
                   for k in _file_keys(tp)})


def _owner(loc: Sequence[Any], layers: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """The layer that set ``loc`` (or its nearest set parent): the last one holding the longest prefix."""
    best, best_depth = layers[-1][0], -1
    for label, doc in layers:
        node: Any = doc
        depth = 0
        for part in loc:
            if not ((isinstance(node, Mapping) and part in node)
                    or (isinstance(node, list) and isinstance(part, int) and part < len(node))):
                break
            node, depth = node[part], depth + 1
        if depth >= best_depth and (depth > 0 or best_depth < 0):
            best, best_depth = label, depth
    return best


def _key_loc(loc: Sequence[Any], doc: Mapping[str, Any]) -> tuple[Any, ...]:
    """The key path part of a pydantic location: without validator names (``function-after[...]``) and
    union branch tags (``literal['optimal']``, ``constrained-float``) that follow the value itself."""
    out: list[Any] = []
    node: Any = doc
    for part in loc:
        if isinstance(part, str) and part.startswith("function-"):
            continue
        if not isinstance(node, (Mapping, list)) and out:
            break  # past a scalar: what follows names a union branch, not a key
        out.append(part)
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(out)


def _path(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def problem_lines(errors: Sequence[Mapping[str, Any]], model: type[DataModel],
                  layers: Sequence[tuple[str, Mapping[str, Any]]], *,
                  extra: Sequence[tuple[tuple[Any, ...], str]] = ()) -> list[str]:
    """Every problem (pydantic ``errors`` and ``extra`` (key path, message) pairs) as ``file: key.path: what``."""
    errors = [*errors, *({"type": "value_error", "loc": loc, "msg": msg, "ctx": {"error": msg}} for loc, msg in extra)]
    doc: dict[str, Any] = reduce(deep_merge, (d for _, d in layers), {})
    by_key: dict[tuple[Any, ...], list[str]] = {}
    for err in errors:
        loc = _key_loc(err["loc"], doc)
        valid = _valid_keys(model, loc[:-1]) if err["type"] == "extra_forbidden" else []
        by_key.setdefault(loc, []).append(_item_message({**err, "loc": loc}, valid))
    # a value refused by every branch of a union ("optimal" or a number) is one problem, not one per branch
    return [f"{_owner(loc, layers)}: {_path(loc)}: {' or '.join(dict.fromkeys(msgs))}" for loc, msgs in by_key.items()]


def format_errors(errors: Sequence[Mapping[str, Any]], model: type[DataModel],
                  layers: Sequence[tuple[str, Mapping[str, Any]]], *, fix: str | None = None,
                  extra: Sequence[tuple[tuple[Any, ...], str]] = ()) -> str:
    """One bilingual message listing every problem (pydantic ``errors`` and ``extra`` (key path, message)
    pairs) as ``file: key.path: what``."""
    items = problem_lines(errors, model, layers, extra=extra)
    zh, _, en = model.what.partition(" / ")
    packaged = layers[0][0] if layers and layers[0][0].startswith(PACKAGED_PREFIX) else "file of the same name"
    return problem(
        f"{zh}数据文件有 {len(items)} 处错误。",
        f"The {en or zh} data file has {len(items)} problem(s):\n  - " + "\n  - ".join(items),
        file=" + ".join(label for label, _ in layers),
        fix=fix or f"correct each key listed (see the packaged {packaged} for the format, the allowed values "
                   "and a source for every value)")

