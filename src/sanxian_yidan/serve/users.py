"""The users file of the service: names, roles and argon2 password hashes (never passwords).

A TOML file, one ``[[users]]`` table per user::

    [[users]]
    name = "wang"
    role = "admin"            # or "user": an admin sees every user's history
    password_hash = "$argon2id$v=19$m=65536,t=3,p=4$..."

Create or update it with ``sanxian serve adduser FILE NAME [--admin]`` (asks for the password twice).
Passwords are hashed with argon2id (``argon2-cffi``, RFC 9106 parameters of the package's default profile).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..datafiles import load_toml
from ..errors import DataFileError, InputFileError, problem

__all__ = ["ROLES", "User", "add_user", "load_users", "verify_password"]

ROLES = ("user", "admin")
_NAME = re.compile(r"^[\w.@-]{1,64}$")
_HASHER = PasswordHasher()
#: Verified against when the user name is unknown, so that a wrong name costs the same time as a wrong password.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


@dataclass(frozen=True)
class User:
    """A user of the service."""

    name: str
    role: str
    password_hash: str


def load_users(path: str | Path) -> dict[str, User]:
    """Read a users file; every problem is reported at once.

    Raises
    ------
    DataFileError
        Missing or malformed file, a bad name or role, a value that is not an argon2 hash, a duplicate name.
    """
    doc = load_toml(path)
    problems: list[str] = []
    users: dict[str, User] = {}
    for i, raw in enumerate(doc.get("users") or []):
        name, role, hashed = raw.get("name"), raw.get("role", "user"), raw.get("password_hash")
        if not isinstance(name, str) or not _NAME.match(name):
            problems.append(f"users[{i}].name {name!r}: 1-64 letters, digits, '.', '_', '@' or '-'")
        elif name in users:
            problems.append(f"users[{i}].name {name!r} appears twice")
        if role not in ROLES:
            problems.append(f"users[{i}].role {role!r}: one of {', '.join(ROLES)}")
        if not isinstance(hashed, str) or not hashed.startswith("$argon2"):
            problems.append(f"users[{i}].password_hash: an argon2 hash written by 'sanxian serve adduser'")
        if isinstance(name, str) and isinstance(hashed, str):
            users[name] = User(name, str(role), hashed)
    if not users and not problems:
        problems.append("no [[users]] table")
    if problems:
        raise DataFileError(problem("用户文件有误。", "The users file is invalid: " + "; ".join(problems), file=path,
                                    fix="create users with: sanxian serve adduser FILE NAME [--admin]"))
    return users


def verify_password(users: dict[str, User], name: str, password: str) -> User | None:
    """The user if ``password`` is theirs, else None (same cost for an unknown name)."""
    user = users.get(name)
    try:
        _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return user


def add_user(path: str | Path, name: str, password: str, *, role: str = "user", min_length: int = 10) -> Path:
    """Add ``name`` to the users file (or replace their password and role); creates the file (mode 600).

    Raises
    ------
    InputFileError
        A bad name or role, or a password shorter than ``min_length``.
    """
    path = Path(path)
    if not _NAME.match(name):
        raise InputFileError(problem("用户名无效。", f"Invalid user name {name!r}.",
                                     fix="use 1-64 letters, digits, '.', '_', '@' or '-'"))
    if role not in ROLES:
        raise InputFileError(problem("角色无效。", f"Invalid role {role!r}.", fix=f"use one of {', '.join(ROLES)}"))
    if len(password) < min_length:
        raise InputFileError(problem(f"密码至少需要 {min_length} 个字符。",
                                     f"The password needs at least {min_length} characters.",
                                     fix="choose a longer password (a phrase of several words is easy to remember)"))
    users = load_users(path) if path.exists() else {}
    users[name] = User(name, role, _HASHER.hash(password))
    lines = ["# Users of `sanxian serve` (argon2id password hashes; edit with `sanxian serve adduser`)."]
    for user in users.values():
        lines += ["", "[[users]]", f"name = {json.dumps(user.name, ensure_ascii=False)}",
                  f"role = {json.dumps(user.role)}", f"password_hash = {json.dumps(user.password_hash)}"]
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
    return path
