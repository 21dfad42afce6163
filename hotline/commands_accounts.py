"""``hotline users …`` and ``hotline tokens …``: the accounts of people who sign in to
the web UI, and the API tokens of integrations.

Passwords the service chooses (``users add`` without ``--password-stdin``,
``users reset-password``) are random, printed once, and must be changed at the next
sign-in. A token is printed once; only its digest is stored.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from hotline.auth.roles import Role

ROLES = tuple(role.value for role in Role)
EXIT_OK = 0


def add_parsers(sub: Any) -> None:
    """The ``users`` and ``tokens`` commands, on the main parser's subparsers."""
    users = sub.add_parser("users", help="people who sign in to the web UI")
    users_sub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = users_sub.add_parser("add", help="add a user (a random password is printed once)")
    add.add_argument("name", help="user name: lower-case letters, digits, '.', '_', '-'")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--display-name", default="", help="the name shown on pages")
    add.add_argument("--language", choices=["zh", "en"], default="", help="default: browser's")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    for name, text in (
        ("disable", "stop a user signing in (ends their sessions)"),
        ("enable", "let a disabled user sign in again"),
    ):
        cmd = users_sub.add_parser(name, help=text)
        cmd.add_argument("name")
    for name, text in (
        ("grant", "give a user a role beside their own (e.g. an admin who is also head)"),
        ("revoke", "withdraw a role granted with `grant`"),
    ):
        cmd = users_sub.add_parser(name, help=text)
        cmd.add_argument("name")
        cmd.add_argument("--role", required=True, choices=ROLES)
    reset = users_sub.add_parser(
        "reset-password", help="a new random password, to be changed at the next sign-in"
    )
    reset.add_argument("name")
    reset.add_argument("--password-stdin", action="store_true")
    listing = users_sub.add_parser("list", help="every user with role and state")
    listing.add_argument("--json", action="store_true")

    tokens = sub.add_parser("tokens", help="API tokens for integrations")
    tokens_sub = tokens.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    create = tokens_sub.add_parser("create", help="a new token (printed once)")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--name", required=True, help="what uses it: 'case system', 'prometheus'")
    create.add_argument("--expires-days", type=int, help="default: until revoked")
    create.add_argument("--json", action="store_true")
    tlist = tokens_sub.add_parser("list", help="tokens with role, prefix and last use")
    tlist.add_argument("--json", action="store_true")
    revoke = tokens_sub.add_parser("revoke", help="stop a token working")
    revoke.add_argument("token_id", type=int, metavar="ID")


def _read_password() -> str:
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


def _when(value: Any) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "-"


async def run(settings: Any, args: argparse.Namespace, *, actor: str) -> int:
    from hotline.service import Hotline

    core = Hotline(settings)
    await core.open()
    try:
        if args.command == "users":
            return await _users(core.db, args, actor)
        return await _tokens(core.db, args, actor)
    finally:
        await core.close()


async def _users(db: Any, args: argparse.Namespace, actor: str) -> int:
    from hotline.auth import users

    match args.users_command:
        case "add":
            password = _read_password() if args.password_stdin else None
            made = await users.add_user(
                db,
                args.name,
                args.role,
                actor=actor,
                password=password,
                display_name=args.display_name,
                language=args.language,
            )
            print(f"added {made.user.role} {made.user.username!r}")
            if made.password is not None:
                print(f"password: {made.password}")
                print("(shown once; it must be changed at the first sign-in)")
        case "disable" | "enable":
            user = await users.set_disabled(
                db, args.name, disabled=args.users_command == "disable", actor=actor
            )
            print(f"{user.username!r} {args.users_command}d")
        case "grant" | "revoke":
            user = await users.set_role(
                db, args.name, args.role, granted=args.users_command == "grant", actor=actor
            )
            held = ", ".join([user.role, *filter(None, user.extra_roles.split(","))])
            print(f"{user.username!r} now holds: {held} (their sessions have ended)")
        case "reset-password":
            password = _read_password() if args.password_stdin else None
            made = await users.reset_password(db, args.name, actor=actor, password=password)
            print(f"password of {made.user.username!r} reset; their sessions have ended")
            if made.password is not None:
                print(f"password: {made.password}")
                print("(shown once; it must be changed at the next sign-in)")
        case "list":
            rows = await users.list_users(db)
            data: list[dict[str, Any]] = [
                {
                    "username": u.username,
                    "display_name": u.display_name,
                    "role": u.role,
                    "roles": [u.role, *filter(None, u.extra_roles.split(","))],
                    "disabled": u.disabled,
                    "must_change_password": u.must_change_password,
                    "last_login_at": _when(u.last_login_at),
                }
                for u in rows
            ]
            if args.json:
                print(json.dumps(data, ensure_ascii=False, indent=2))
            elif not data:
                print("no users (`hotline serve` creates an admin on its first start)")
            for u in data if not args.json else []:
                state = "disabled" if u["disabled"] else "active"
                print(
                    f"{u['username']:<20} {'+'.join(map(str, u['roles'])):<18} {state:<9} "
                    f"last sign-in {u['last_login_at']}"
                )
    return EXIT_OK


async def _tokens(db: Any, args: argparse.Namespace, actor: str) -> int:
    from hotline.auth import tokens

    match args.tokens_command:
        case "create":
            made = await tokens.create(
                db, args.name, args.role, actor=actor, expires_days=args.expires_days
            )
            if args.json:
                print(json.dumps({"id": made.row.id, "token": made.token, "role": made.row.role}))
            else:
                print(f"token {made.row.id} ({made.row.role}, {made.row.name!r}):")
                print(made.token)
                print("(shown once; send it as 'Authorization: Bearer <token>')")
        case "list":
            rows = await tokens.list_tokens(db)
            data = [
                {
                    "id": t.id,
                    "name": t.name,
                    "role": t.role,
                    "prefix": t.prefix,
                    "created_by": t.created_by,
                    "created_at": _when(t.created_at),
                    "expires_at": _when(t.expires_at),
                    "last_used_at": _when(t.last_used_at),
                    "revoked": t.revoked_at is not None,
                }
                for t in rows
            ]
            if args.json:
                print(json.dumps(data, ensure_ascii=False, indent=2))
            elif not data:
                print("no tokens")
            for t in data if not args.json else []:
                state = "revoked" if t["revoked"] else f"expires {t['expires_at']}"
                print(
                    f"{t['id']:>4}  {t['prefix']}…  {t['role']:<11} {t['name']:<24} {state}, "
                    f"last used {t['last_used_at']}"
                )
        case "revoke":
            row = await tokens.revoke(db, args.token_id, actor=actor)
            print(f"token {row.id} ({row.name!r}) revoked")
    return EXIT_OK
