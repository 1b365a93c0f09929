"""Domain events one feature raises and others act on, so features stay decoupled (as Indico does).

Receivers run inside the sender's transaction: they add to the same session and must not commit.
"""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# sender: the Visit; kwargs: session, outcome (VisitOutcome row), actor_id
visit_outcome_recorded = _signals.signal("visit-outcome-recorded")
# sender: the Case; kwargs: session, attempt (ContactAttempt row), actor_id
contact_attempt_recorded = _signals.signal("contact-attempt-recorded")
# sender: the Visit; kwargs: session. The visit was cancelled or given to another collector or day:
# whatever was planned around it (route stops) must let it go.
visit_released = _signals.signal("visit-released")
# sender: the Visit; kwargs: session, actor_id, pinned (True/False when the sender read it with the visit's
# row lock held, absent when not). The visit closed (done, failed or cancelled, for good): what was decided
# for it while it was open (a dispatcher's pin) no longer applies.
visit_closed = _signals.signal("visit-closed")
# sender: the feature's name; kwargs: session, actor_id, action, subject_type, subject_id, details (dict).
# Features below audit's reach in the package graph (auth, policy) record what admins do through it;
# audit's receiver adds the row to the same session, committed with the change itself.
action_audited = _signals.signal("action-audited")
# sender: None; kwargs: session, failed (list of {id, alert_id, level, user_id, channel, error}), now.
# Messages the outbox gave up on; safety raises the next level of their alerts at once.
notification_failed = _signals.signal("notification-failed")
# sender: the BackgroundJob row; kwargs: session, status ("done" or "failed"), error. Sent inside the
# transaction that records the outcome (planning tells whoever started a plan).
job_finished = _signals.signal("job-finished")
# sender: the new CaseAddress; kwargs: session, old_address_ids. The case moved (same kind, different
# address): open visits at the old address follow it. Receivers return the ids of the visits they moved.
address_moved = _signals.signal("address-moved")
# sender: the User; kwargs: session. An account was deactivated: whatever was given to them (assigned
# visits) must go back to others.
user_deactivated = _signals.signal("user-deactivated")
