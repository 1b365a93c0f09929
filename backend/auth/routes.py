"""Tokens and user accounts."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.auth import service
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
    @may_return(401)
    @blp.arguments(TokenRequestSchema)
    @blp.response(200, TokenSchema)
    @blp.doc(security=[])
    def post(self, credentials):
        """Exchange a username and password for a bearer token."""
        user = service.authenticate(db.session, credentials["username"], credentials["password"])
        if user is None:
            raise Unauthorized("wrong username or password")
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
        user = service.create_user(db.session, region=current_app.config["DEFAULT_REGION"], **fields)
        db.session.commit()
        return user


@blp.route("/users/<int:user_id>")
class UserResource(MethodView):
    @roles_required()
    @blp.response(200, UserSchema)
    def get(self, user_id):
        """Read a user: yourself, or anyone if you manage staff."""
        require_self_or(user_id, *READERS)
        return service.get_user(db.session, user_id)

    @roles_required(*MANAGERS)
    @blp.arguments(UserPatchSchema(partial=True))
    @blp.response(200, UserSchema)
    def patch(self, changes, user_id):
        """Change a user (admin)."""
        user = service.update_user(db.session, user_id, region=current_app.config["DEFAULT_REGION"], **changes)
        db.session.commit()
        return user


@blp.route("/me")
class MeResource(MethodView):
    @roles_required()
    @blp.response(200, UserSchema)
    def get(self):
        """The caller's own account."""
        return current_user()
