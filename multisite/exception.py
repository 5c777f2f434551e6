"""Domain exceptions. They know nothing of HTTP; the API maps them to statuses."""


class MultisiteError(Exception):
    """Base of every Multisite error; `code` is a stable, machine-readable name."""

    code = "multisite.error"
    message = "An unknown error occurred."

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if message is None:
            message = self.message % kwargs if kwargs else self.message
        super().__init__(message)

    @property
    def msg(self):
        return str(self)


class NotFound(MultisiteError):
    code = "not_found"
    message = "Resource not found."


class ProjectQuotaNotFound(NotFound):
    code = "quota.not_found"
    message = "Project quota not found: %(project_id)s"


class QuotaClassNotFound(NotFound):
    code = "quota_class.not_found"
    message = "Quota class not found: %(class_name)s"


class JobNotFound(NotFound):
    code = "sync_job.not_found"
    message = "Job not found: %(job_id)s"


class Invalid(MultisiteError):
    code = "invalid"
    message = "Invalid input."


class InvalidQuotaLimits(Invalid):
    code = "quota.invalid_limits"


class Conflict(MultisiteError):
    code = "conflict"
    message = "Conflict."


class ConcurrentUpdate(Conflict):
    code = "request.concurrent_update"
    message = "A concurrent request changed the same data; retry the request."


class JobInProgress(MultisiteError):
    code = "sync_job.in_progress"
    message = "action not supported while sync is in progress"


class EngineUnavailable(MultisiteError):
    code = "engine.unavailable"
    message = "The Multisite engine did not answer in time."


class EngineError(MultisiteError):
    code = "engine.error"
    message = "Error while requesting usage."


class Unauthenticated(MultisiteError):
    code = "auth.unauthenticated"
    message = "Authentication required: missing or invalid token"


class InvalidCredentials(Unauthenticated):
    code = "auth.invalid_credentials"
    message = "The identity service refused these credentials: %(reason)s"


class IdentityUnavailable(MultisiteError):
    code = "auth.identity_unavailable"
    message = "The identity service did not answer: %(reason)s"
