"""Command-line tasks: `flask --app wsgi create-user`, `seed-demo`."""
from __future__ import annotations

import click
from flask import current_app

from backend.extensions import db


def register_cli(app) -> None:
    """Attach the project's commands to the app's CLI."""

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--role", required=True, type=click.Choice(["collector", "dispatcher", "tracer", "supervisor", "admin"]))
    # Asked at a prompt (hidden, twice) or read from stdin when piped; --password remains for scripts,
    # under the same policy, though a command line shows in `ps` and the shell's history.
    @click.option("--password", default=None, help="prefer the prompt or stdin: a command line is visible to others")
    @click.option("--name", default=None, help="display name (defaults to the username)")
    def create_user_command(username, role, password, name):
        """Create a user (the first admin, typically)."""
        from backend.auth.models import Role
        from backend.auth.service import create_user
        from backend.errors import DomainError

        if password is None:
            password = _read_password()
        try:
            user = create_user(db.session, region=current_app.config["DEFAULT_REGION"], username=username,
                               password=password, role=Role(role), name=name or username)
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc
        db.session.commit()
        click.echo(f"created {role} {username} (id {user.id})")

    def _read_password() -> str:
        import sys

        if sys.stdin.isatty():
            return click.prompt("Password", hide_input=True, confirmation_prompt=True)
        return sys.stdin.readline().rstrip("\r\n")

    @app.cli.command("seed-demo")
    @click.option("--cases", default=300, show_default=True)
    @click.option("--collectors", default=12, show_default=True)
    @click.option("--seed", default=7, show_default=True)
    def seed_demo_command(cases, collectors, seed):
        """Load the demo data set (idempotent: run it twice, get it once)."""
        from backend.demo.seed import seed_demo

        summary = seed_demo(db.session, n_cases=cases, n_collectors=collectors, seed=seed,
                            region=current_app.config["DEFAULT_REGION"])
        db.session.commit()
        for line in summary:
            click.echo(line)
