"""The only code that queries or writes the database, one module per area; every public name is
here too, so `from questionnaire.data import store; store.x(...)` reaches any of them.

Each write commits on its own, except inside `store.transaction()`: there it only flushes, and the
transaction commits once (an operation's writes and its audit row together, or none of them).
"""

from questionnaire.data.store.base import in_transaction, save, token_hash, transaction
from questionnaire.data.store.audit_log import EMAIL_MAX, audit, audit_events, audit_events_for_export
from questionnaire.data.store.calls import (assign, calls_for, first_waiting, newest_submission_id, record_call, submissions_after,
                                            waiting_for_a_call)
from questionnaire.data.store.drafts import (create_draft, delete_draft, find_draft, lock_draft, purge_expired_drafts,
                                             renew_draft_token, retired_token, save_page, set_draft_language,
                                             set_pending)
from questionnaire.data.store.queue import (adjust_count, level_counts, queue_page, rule_counts,
                                            submissions_for_export)
from questionnaire.data.store.submissions import (QUESTIONS_VERSION, REFERENCE_ALPHABET, add_note, change_status,
                                                  deliveries_for, delete_submission, delete_submissions,
                                                  fired_to_json, new_reference, record_delivery,
                                                  submission_by_reference, submission_exists, submission_for_draft,
                                                  submission_notes, set_callback_phone, submit)
from questionnaire.data.store.sessions import (create_staff_session, find_staff_session, revoke_all_sessions,
                                               revoke_staff_session, touch_staff_session)
from questionnaire.data.store.staff import (LastAdministrator, all_staff, create_staff, deactivate_staff,
                                            normalise_email, reset_staff_otp, set_staff_password, staff_by_email,
                                            staff_by_id, staff_count, update_staff, use_otp_step)
from questionnaire.data.store.checkins import (checked_in_between, checkin_by_id, checkins_for, complete_checkin,
                                               create_rescreen_draft, find_open_checkin, rescreen_drafts_waiting,
                                               rescreens_of, start_checkin, submission_by_id)
from questionnaire.data.store.search import index_submission, rekey_search_batch, search_submissions
from questionnaire.data.store.maintenance import ENCRYPTED_COLUMNS, purge_old_submissions, reencrypt_batch

__all__ = [
    "ENCRYPTED_COLUMNS", "EMAIL_MAX", "LastAdministrator", "QUESTIONS_VERSION", "REFERENCE_ALPHABET",
    "add_note", "adjust_count", "assign", "calls_for", "first_waiting", "newest_submission_id", "record_call", "submissions_after",
    "waiting_for_a_call", "all_staff", "audit", "audit_events", "audit_events_for_export", "change_status",
    "create_draft", "create_staff", "create_staff_session", "deactivate_staff", "delete_draft", "delete_submission",
    "delete_submissions", "deliveries_for", "find_draft", "find_staff_session", "fired_to_json", "in_transaction",
    "level_counts", "lock_draft", "new_reference", "normalise_email", "purge_expired_drafts",
    "purge_old_submissions", "queue_page", "record_delivery", "reencrypt_batch", "renew_draft_token",
    "reset_staff_otp", "retired_token", "revoke_all_sessions", "revoke_staff_session", "rule_counts", "save",
    "save_page", "search_submissions", "set_callback_phone", "index_submission", "rekey_search_batch",
    "set_draft_language", "set_pending", "set_staff_password", "staff_by_email", "staff_by_id", "staff_count",
    "staff_count", "submission_by_reference", "submission_exists", "submission_for_draft", "submission_notes",
    "submissions_for_export", "submit", "token_hash", "touch_staff_session", "transaction", "update_staff",
    "use_otp_step",
    "checked_in_between", "checkin_by_id", "checkins_for", "complete_checkin", "create_rescreen_draft",
    "find_open_checkin", "rescreen_drafts_waiting", "rescreens_of", "start_checkin", "submission_by_id",
]
