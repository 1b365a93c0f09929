"""Poll a background job."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.auth.access import current_user, roles_required
from backend.auth.models import Role
from backend.errors import NotFound
from backend.extensions import db
from backend.jobs.schemas import JobSchema
from backend.jobs.service import get_job

blp = Blueprint("jobs", __name__, url_prefix="/api/v1", description="Background jobs")

OVERSEERS = (Role.SUPERVISOR, Role.ADMIN)


@blp.route("/jobs/<int:job_id>")
class JobResource(MethodView):
    @roles_required(Role.DISPATCHER, Role.TRACER, Role.SUPERVISOR, Role.ADMIN)
    @blp.response(200, JobSchema)
    def get(self, job_id):
        """Status and progress of a job you started (supervisors see all)."""
        job = get_job(db.session, job_id)
        user = current_user()
        if job is None or (job.created_by_id != user.id and user.role not in OVERSEERS):
            raise NotFound("job", job_id)
        return job
