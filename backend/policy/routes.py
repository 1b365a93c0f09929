"""Portfolios and their rule settings."""
from __future__ import annotations

import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.auth.access import current_user, roles_required
from backend.auth.models import Role
from backend.extensions import db
from backend.pagination import PageQuerySchema, envelope, page_schema, paginate
from backend.policy import service
from backend.policy.models import Portfolio
from backend.policy.schemas import PortfolioPatchSchema, PortfolioSchema, PortfolioWriteSchema

blp = Blueprint("policy", __name__, url_prefix="/api/v1", description="Portfolios and policy settings")

READERS = (Role.ADMIN, Role.SUPERVISOR, Role.DISPATCHER, Role.TRACER)


@blp.route("/portfolios")
class PortfoliosResource(MethodView):
    @roles_required(*READERS)
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, page_schema(PortfolioSchema))
    def get(self, query):
        """List portfolios with their effective settings."""
        rows, total = paginate(db.session, sa.select(Portfolio).order_by(Portfolio.id), query["page"],
                               query["page_size"])
        return envelope(rows, total, query["page"], query["page_size"])

    @roles_required(Role.ADMIN)
    @blp.arguments(PortfolioWriteSchema)
    @blp.response(201, PortfolioSchema)
    def post(self, fields):
        """Create a portfolio (admin)."""
        portfolio = service.create_portfolio(db.session, actor_id=current_user().id, **fields)
        db.session.commit()
        return portfolio


@blp.route("/portfolios/<int:portfolio_id>")
class PortfolioResource(MethodView):
    @roles_required(*READERS)
    @blp.response(200, PortfolioSchema)
    def get(self, portfolio_id):
        """Read one portfolio."""
        service.get_policy(db.session, portfolio_id)
        return db.session.get(Portfolio, portfolio_id)

    @roles_required(Role.ADMIN)
    @blp.arguments(PortfolioPatchSchema(partial=True))
    @blp.response(200, PortfolioSchema)
    def patch(self, changes, portfolio_id):
        """Change a portfolio's creditor, profile or overrides (admin)."""
        portfolio = service.update_portfolio(db.session, portfolio_id, actor_id=current_user().id, **changes)
        db.session.commit()
        return portfolio
