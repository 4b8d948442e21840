"""Command-line helpers used by the Makefile and the Docker image.

python -m hydroml.cli demo                 create the demo account once, print its credentials
python -m hydroml.cli reset-password NAME  set a new random password for NAME and print it
python -m hydroml.cli new-connection-key   print a new key for HYDROML_FERNET_KEY
python -m hydroml.cli rotate-connection-key  re-encrypt every stored connection password with the first key

Key rotation: put a new key first in HYDROML_FERNET_KEY ("new,old"), run rotate-connection-key, then drop the
old key.
"""

from __future__ import annotations

import argparse
import secrets
import sys

from hydroml.services import auth, demo_project
from hydroml.services.connectors import secrets as connection_secrets
from hydroml.services.errors import ServiceError
from hydroml.settings import get_settings


def _banner(lines: list[str]) -> None:
    width = max(len(line) for line in lines) + 4
    print("+" + "-" * width + "+")
    for line in lines:
        print(f"|  {line.ljust(width - 4)}  |")
    print("+" + "-" * width + "+")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hydroml.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="create the demo account if it does not exist")
    reset = commands.add_parser("reset-password", help="give a user a new random password")
    reset.add_argument("username")
    commands.add_parser("new-connection-key", help="print a new key for HYDROML_FERNET_KEY")
    commands.add_parser(
        "rotate-connection-key", help="re-encrypt every connection password with the first key"
    )
    args = parser.parse_args(argv)

    if args.command == "new-connection-key":
        print(connection_secrets.generate_key())
        return 0
    if args.command == "rotate-connection-key":
        try:
            count = connection_secrets.rotate_all()
        except ServiceError as error:
            print(error, file=sys.stderr)
            return 1
        print(f"Re-encrypted {count} connection password(s) with the first key of HYDROML_FERNET_KEY.")
        return 0

    if args.command == "demo":
        try:
            created = auth.ensure_demo_user()
        except auth.InvalidInput as error:
            print(
                f"Cannot create the demo account: {error} (check HYDROML_DEMO_USER / HYDROML_DEMO_PASSWORD)",
                file=sys.stderr,
            )
            return 1
        if created is None:
            print(
                "Demo account exists already (its password was printed when it was created; "
                "`make demo-password` sets a new one)."
            )
        else:
            username, password = created
            _banner(["HydroML demo account (shown once)", f"user name: {username}", f"password:  {password}"])
        user = auth.find_user(get_settings().demo_username)
        if user is not None and demo_project.ensure_demo_project(user) is not None:
            print(
                f"Created the '{demo_project.DEMO_PROJECT}' project with its demo data for {user.username}."
            )
        return 0

    password = f"hydro-{secrets.token_urlsafe(9)}"
    try:
        auth.reset_password(args.username, password)
    except auth.InvalidInput as error:
        print(error, file=sys.stderr)
        return 1
    _banner([f"New password for {args.username}", f"password:  {password}"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
