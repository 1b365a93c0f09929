"""Tokens and user accounts."""
from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.auth import service, throttle
from backend.auth.access import (
    Unauthorized,
    current_user,
    issue_token,
    public,
    require_self_or,
    roles_required,
)
from backend.auth.models import Role
from backend.auth.schemas import (
    TokenRequestSchema,
    TokenSchema,
    UserPatchSchema,
    UserQuerySchema,
    UserSchema,
    UserWriteSchema,
    home_visible,
)
from backend.extensions import db
from backend.openapi import may_return
from backend.pagination import envelope, page_schema, pop_page

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Tokens and user accounts")

MANAGERS = (Role.ADMIN,)
READERS = (Role.ADMIN, Role.SUPERVISOR, Role.DISPATCHER)


@blp.route("/auth/token")
class TokenResource(MethodView):
    @public
    @may_return(401, 429)  # wrong credentials; too many failures for the username or the address
    @blp.arguments(TokenRequestSchema)
    @blp.response(200, TokenSchema)
    @blp.doc(security=[])
    def post(self, credentials):
        """Exchange a username and password for a bearer token; after 10 failures in 15 minutes for the
        username or from the address, 429 with Retry-After. Every attempt is audited."""
        username, address = credentials["username"], request.remote_addr
        throttle.check_allowed(username, address)
        user = service.authenticate(db.session, username, credentials["password"])
        service.record_login(db.session, username, address, user)
        if user is None:
            throttle.record_failure(username, address)
            db.session.commit()  # the failure's audit row stays, though the answer is an error
            raise Unauthorized("wrong username or password")
        db.session.commit()
        token, expires_at = issue_token(user)
        return {"access_token": token, "token_type": "Bearer", "role": user.role.value,
                "user_id": user.id, "expires_at": expires_at}


@blp.route("/users")
class UsersResource(MethodView):
    @roles_required(*READERS)
    @blp.arguments(UserQuerySchema, location="query")
    @blp.response(200, page_schema(UserSchema))
    def get(self, query):
        """List staff (admin, supervisor, dispatcher)."""
        page, page_size = pop_page(query)
        users, total = service.list_users(db.session, page=page, page_size=page_size, **query)
        return envelope(users, total, page, page_size)

    @roles_required(*MANAGERS)
    @blp.arguments(UserWriteSchema)
    @blp.response(201, UserSchema)
    def post(self, fields):
        """Create a user (admin)."""
        user = service.create_user(db.session, region=current_app.config["DEFAULT_REGION"],
                                   actor_id=current_user().id, **fields)
        db.session.commit()
        home_visible(user.id)
        return user


@blp.route("/users/<int:user_id>")
class UserResource(MethodView):
    @roles_required()
    @blp.response(200, UserSchema)
    def get(self, user_id):
        """Read a user: yourself, or anyone if you manage staff. The home is shown to the user and to an
        admin (who edits accounts; audited), to nobody else."""
        require_self_or(user_id, *READERS)
        user = service.get_user(db.session, user_id)
        caller = current_user()
        if caller.id == user_id:
            home_visible(user_id)
        elif caller.role == Role.ADMIN and user.home is not None:
            service.record_home_read(db.session, caller.id, user)
            db.session.commit()
            home_visible(user_id)
        return user

    @roles_required(*MANAGERS)
    @blp.arguments(UserPatchSchema(partial=True))
    @blp.response(200, UserSchema)
    def patch(self, changes, user_id):
        """Change a user (admin)."""
        user = service.update_user(db.session, user_id, region=current_app.config["DEFAULT_REGION"],
                                   actor_id=current_user().id, **changes)
        db.session.commit()
        if "home" in changes:  # the admin's own input, echoed; any other change answers without it
            home_visible(user.id)
        return user


@blp.route("/me")
class MeResource(MethodView):
    @roles_required()
    @blp.response(200, UserSchema)
    def get(self):
        """The caller's own account (with their home)."""
        home_visible(current_user().id)
        return current_user()
