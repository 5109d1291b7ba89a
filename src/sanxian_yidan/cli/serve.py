"""``sanxian serve``: run the screening service; ``sanxian serve adduser``: manage its users file."""

from __future__ import annotations

import getpass
import ipaddress
import json
import os
from pathlib import Path
from typing import Any, Optional

import typer

from ..errors import SanxianError, problem
from ._common import DEFAULT_CATALOG, app, console, fail

serve_app = typer.Typer(help="Screening service for the intranet / 环境准入研判网页服务", no_args_is_help=False,
                        add_completion=False, rich_markup_mode="markdown")
app.add_typer(serve_app, name="serve")


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@serve_app.callback(invoke_without_command=True)
def serve_command(
    ctx: typer.Context,
    catalog: Path = typer.Option(DEFAULT_CATALOG, "--catalog", help="Layer catalog / 图层目录"),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (default: this machine only) / 监听地址"),
    port: int = typer.Option(8000, "--port", help="Port / 端口"),
    users: Optional[Path] = typer.Option(None, "--users", help="Users file (sanxian serve adduser); required with "
                                                               "a --host other than localhost / 用户文件"),
    db: Path = typer.Option(Path("sanxian-serve.sqlite"), "--db", help="SQLite file for history, sessions and the "
                                                                       "request log / 历史记录数据库"),
    settings: Optional[Path] = typer.Option(None, "--settings", help="Service settings merged over the packaged "
                                                                     "serve.toml (upload limit, time limit ...)"),
    secure_cookies: bool = typer.Option(False, "--secure-cookies", help="Send the session cookie over HTTPS only "
                                                                        "(behind an HTTPS reverse proxy)"),
    workers: int = typer.Option(1, "--workers", min=1, help="Server processes, each with the catalog in memory "
                                                             "(one per CPU core serves more screenings at once)"),
) -> None:
    """Start the screening service: upload, draw or paste a boundary, get the verdict, sheet and map.

    Binds to 127.0.0.1 unless --host says otherwise; any other address needs --users FILE.
    """
    if ctx.invoked_subcommand is not None:
        return
    if not is_loopback(host) and users is None:
        fail(SanxianError(problem(
            f"监听 {host} 会让其他计算机访问官方管控图层，必须先配置用户文件。",
            f"Listening on {host} would let other machines reach the zoning layers: a users file is required.",
            fix="create one with 'sanxian serve adduser users.toml NAME --admin' and add --users users.toml, "
                "or leave out --host to serve this machine only")))
    import warnings

    import uvicorn

    from ..errors import SanxianWarning
    from ..serve import create_app
    from ..serve.app import CONFIG_ENV

    # Readers' notes reach each user on the result page (they are kept with the frame); printed on the
    # server's console they would mix the requests of different users.
    warnings.simplefilter("ignore", SanxianWarning)

    options: dict[str, Any] = {"db": str(db), "users": str(users) if users else None,
                               "settings": str(settings) if settings else None, "secure_cookies": secure_cookies}
    try:
        with console.status("读取图层 / loading the catalog …"):
            # Built here even with several workers: a bad catalog, users or settings file fails before serving.
            application = create_app(catalog, **options)
    except SanxianError as exc:
        fail(exc)
    console.print(f"sanxian serve: http://{host if ':' not in host else f'[{host}]'}:{port}/ "
                  f"(Ctrl-C 停止 / to stop)", highlight=False)
    if workers == 1:
        uvicorn.run(application, host=host, port=port, log_level="warning", server_header=False)
        return
    os.environ[CONFIG_ENV] = json.dumps({"catalog": str(catalog.resolve()), **options})
    del application  # each worker process builds its own
    uvicorn.run("sanxian_yidan.serve.app:app_from_env", factory=True, workers=workers, host=host, port=port,
                log_level="warning", server_header=False)


@serve_app.command("adduser")
def adduser_command(
    file: Path = typer.Argument(..., help="Users file (created if missing) / 用户文件"),
    name: str = typer.Argument(..., help="User name / 用户名"),
    admin: bool = typer.Option(False, "--admin", help="Admin role: sees every user's history / 管理员"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input "
                                                                        "(scripts) instead of asking"),
) -> None:
    """Add a user to the users file, or change their password and role (argon2id hash, file mode 600)."""
    import sys

    from ..serve.config import serve_settings
    from ..serve.users import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("密码 / Password: ")
        if getpass.getpass("再次输入 / Repeat: ") != password:
            fail(SanxianError(problem("两次输入的密码不一致。", "The passwords differ.", fix="run the command again")))
    try:
        path = add_user(file, name, password, role="admin" if admin else "user",
                        min_length=serve_settings().password.min_length)
    except SanxianError as exc:
        fail(exc)
    console.print(f"{name} ({'admin' if admin else 'user'}) → {path}", highlight=False)
