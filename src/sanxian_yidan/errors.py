"""Exception hierarchy of sanxian_yidan.

Every error the toolkit raises on bad input derives from :class:`SanxianError`
and also from the matching builtin, so ``except ValueError`` keeps working for
callers who do not know this package.  Messages are bilingual: a Chinese line
for the planner, an English line for the consultant, and a ``Fix`` line that
says what to do.  Use :func:`problem` to build them so they read the same
everywhere.
"""

from __future__ import annotations

from os import PathLike


class SanxianError(Exception):
    """Root of every error raised by sanxian_yidan."""


class InputFileError(SanxianError, ValueError):
    """A user's input file cannot be used as it is (format, content, geometry)."""


class MissingFileError(SanxianError, FileNotFoundError):
    """An input file does not exist."""


class EmptyLayerError(InputFileError):
    """An input layer has no usable features."""


class EncodingDetectionError(InputFileError):
    """The text encoding of an attribute table cannot be determined."""


class CRSError(SanxianError, ValueError):
    """A coordinate reference system is missing, wrong or cannot be inferred."""


class BoundaryTxtError(InputFileError):
    """A land-boundary coordinate exchange TXT file is malformed."""


class CatalogError(SanxianError, ValueError):
    """A layer catalog entry is malformed or refers to something that does not exist."""


class UnknownLayerError(CatalogError, KeyError):
    """A role or layer id is not in the catalog."""

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class OutsideValidityError(SanxianError, ValueError):
    """A place lies outside the region a data set describes (e.g. the default solar climatology)."""


class DataFileError(SanxianError, ValueError):
    """A packaged or user-supplied TOML data file (rules, factors, settings) is invalid."""


class OutputError(SanxianError, OSError):
    """An output place cannot be written: not writable, a file where a folder is needed (or the reverse),
    a protected folder (filesystem root, home folder, a folder holding the run's inputs)."""


class OutputExistsError(OutputError, FileExistsError):
    """The outputs already exist and replacing them was not allowed (``--overwrite`` not given)."""


def problem(
    zh: str,
    en: str,
    *,
    file: str | PathLike[str] | None = None,
    layer: str | None = None,
    feature: object | None = None,
    fix: str | None = None,
) -> str:
    """Format a bilingual error message naming the file, layer, feature and fix.

    Parameters
    ----------
    zh, en : str
        What went wrong, in Chinese and in English.
    file : path-like, optional
        The file concerned.
    layer : str, optional
        Layer name inside the file.
    feature : object, optional
        Feature id, row number or parcel number concerned.
    fix : str, optional
        What the user should do (English, may contain Chinese terms).

    Returns
    -------
    str
        A multi-line message.
    """
    where = ", ".join(text for text, value in ((f"file '{file}'", file), (f"layer '{layer}'", layer),
                                                 (f"feature {feature}", feature)) if value is not None)
    lines = [zh, en] + (["位置 / Where: " + where] if where else []) + (["解决办法 / Fix: " + fix] if fix else [])
    return "\n".join(lines)


class SanxianWarning(UserWarning):
    """Something was assumed or repaired; the result is usable but the user should know."""
